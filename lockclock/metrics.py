"""Prometheus metrics for the whole fleet, read from Redis at scrape time.

A collector on lockclock's own registry (never the global one, so a host app's metrics
and ours do not mix) builds every series from Redis when scraped: any process serving
`/metrics` gives the same fleet-wide numbers, which matters on Heroku, where nothing can
scrape one chosen dyno. Counters and histograms are the ones the scripts keep in
`stats:<schedule>`, so they survive restarts. Names follow kube-state-metrics
(`lockclock_schedule_last_success_timestamp_seconds`). Series per schedule are capped
(`LOCKCLOCK_METRICS_MAX_SCHEDULES`, default 500, in name order); the omitted count is
itself a metric.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector

from .coordination.store import Store
from .ops.describe import DURATION_BOUNDS, LATE_BOUNDS, Histogram, stats_from
from .ops.read_model import read_status

DEFAULT_MAX_SCHEDULES = 500


def max_schedules() -> int:
    raw = os.environ.get("LOCKCLOCK_METRICS_MAX_SCHEDULES", "")
    return int(raw) if raw.isdigit() and int(raw) > 0 else DEFAULT_MAX_SCHEDULES


class FleetCollector(Collector):
    def __init__(self, store: Store, *, limit: int | None = None) -> None:
        self.store = store
        self.limit = limit or max_schedules()

    def collect(self) -> Iterator[Any]:
        store = self.store
        fleet = read_status(store)
        now = fleet.now_ms
        names = [s.name for s in fleet.schedules][: self.limit]
        views = {s.name: s for s in fleet.schedules}
        with store.redis.pipeline(transaction=False) as p:
            for name in names:
                p.hgetall(store.keys.stats(name))
                p.zcard(store.keys.active(name))
            raw = p.execute()
        info = GaugeMetricFamily(
            "lockclock_schedule_info", "A schedule the active clock publishes.",
            labels=["schedule", "spec", "queue", "dispatch", "overlap", "catchup"],
        )  # fmt: skip
        paused = GaugeMetricFamily(
            "lockclock_schedule_paused", "1 while the schedule is paused.", labels=["schedule"]
        )
        next_tick = GaugeMetricFamily(
            "lockclock_schedule_next_tick_timestamp_seconds",
            "When the schedule's next tick falls due.",
            labels=["schedule"],
        )
        last_ok = GaugeMetricFamily(
            "lockclock_schedule_last_success_timestamp_seconds",
            "When a run of the schedule last ended ok.",
            labels=["schedule"],
        )
        running = GaugeMetricFamily(
            "lockclock_schedule_running", "Runs that have not ended.", labels=["schedule"]
        )
        runs = CounterMetricFamily(
            "lockclock_runs", "Runs ended, by outcome and trigger (tick, manual, resume).",
            labels=["schedule", "outcome", "trigger"],
        )  # fmt: skip
        missed = CounterMetricFamily(
            "lockclock_missed_ticks", "Ticks recorded missed.", labels=["schedule"]
        )
        lateness = HistogramMetricFamily(
            "lockclock_run_start_lateness_seconds",
            "From the tick to the start of the run's first attempt.",
            labels=["schedule"],
        )
        duration = HistogramMetricFamily(
            "lockclock_run_duration_seconds", "How long runs took.", labels=["schedule"]
        )
        for i, name in enumerate(names):
            view = views[name]
            spec = view.published
            stats = stats_from(name, raw[2 * i], now)
            info.add_metric(
                [name, spec.trigger, spec.queue, spec.dispatch, spec.overlap, spec.catchup], 1
            )
            paused.add_metric([name], 1 if view.pause is not None else 0)
            if view.next_tick_ms:
                next_tick.add_metric([name], view.next_tick_ms / 1000)
            if stats.last_success_ms:
                last_ok.add_metric([name], stats.last_success_ms / 1000)
            running.add_metric([name], int(raw[2 * i + 1]))
            for outcome, by_trigger in sorted(stats.totals.items()):
                for trigger, count in sorted(by_trigger.items()):
                    runs.add_metric([name, outcome, trigger], count)
            missed.add_metric([name], sum(stats.totals.get("missed", {}).values()))
            _histogram(lateness, name, stats.lateness, LATE_BOUNDS)
            _histogram(duration, name, stats.duration, DURATION_BOUNDS)
        yield from (info, paused, next_tick, last_ok, running, runs, missed, lateness, duration)
        omitted = GaugeMetricFamily(
            "lockclock_metrics_schedules_omitted",
            "Schedules left out past LOCKCLOCK_METRICS_MAX_SCHEDULES.",
        )
        omitted.add_metric([], max(len(fleet.schedules) - len(names), 0))
        yield omitted
        up = GaugeMetricFamily(
            "lockclock_clock_up", "1 for a clock heartbeating.", labels=["clock"]
        )
        leader = GaugeMetricFamily(
            "lockclock_clock_leader", "1 for the clock holding the lease.", labels=["clock"]
        )
        for c in fleet.clocks:
            up.add_metric([c.info.id], 1 if c.alive else 0)
            leader.add_metric([c.info.id], 1 if c.info.id == fleet.active.clock else 0)
        yield from (up, leader)
        workers = GaugeMetricFamily(
            "lockclock_worker_up", "1 for a worker whose lease holds.", labels=["worker"]
        )
        for w in fleet.workers:
            workers.add_metric([w.view.info.id], 1 if w.alive else 0)
        yield workers
        depth = GaugeMetricFamily(
            "lockclock_queue_depth", "Runs waiting in the queue, not yet read.", labels=["queue"]
        )
        oldest = GaugeMetricFamily(
            "lockclock_queue_oldest_age_seconds",
            "Age of the oldest run waiting in the queue (0 when none).",
            labels=["queue"],
        )
        for q in fleet.queues:
            depth.add_metric([q.depth.queue], q.depth.waiting + q.delayed)
            oldest.add_metric([q.depth.queue], q.oldest_waiting_age_s or 0.0)
        yield from (depth, oldest)


def _histogram(
    family: HistogramMetricFamily, name: str, h: Histogram, bounds: tuple[float, ...]
) -> None:
    buckets = [(_go_float(b), c) for b, c in zip(bounds, h.cumulative, strict=False)]
    buckets.append(("+Inf", h.count))
    family.add_metric([name], buckets, sum_value=h.sum_s)


def _go_float(bound: float) -> str:
    """A bucket bound as Prometheus clients write `le` ("1.0", "0.25")."""
    return repr(float(bound))


def registry_for(store: Store, *, limit: int | None = None) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(FleetCollector(store, limit=limit))
    return registry


def render(store: Store, *, limit: int | None = None) -> tuple[bytes, str]:
    """The text exposition of the fleet's metrics, and its content type."""
    return generate_latest(registry_for(store, limit=limit)), CONTENT_TYPE_LATEST

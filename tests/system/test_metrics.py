"""/metrics from Redis: the counters and histograms the scripts keep agree with the run
history of a real clock, and any process renders the same fleet numbers."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import redis
from prometheus_client.parser import text_string_to_metric_families

from lockclock.coordination.control import Actor
from lockclock.coordination.store import Store
from lockclock.metrics import render
from lockclock.ops.control import Operations
from tests.support import ClockProcess, active_pid, wait_for
from tests.system.test_workers import Fleet, records, rows


def scrape(
    store: Store, limit: int | None = None
) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    body, content_type = render(store, limit=limit)
    assert content_type.startswith("text/plain")
    out = {}
    for family in text_string_to_metric_families(body.decode()):
        for s in family.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def value(
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    return samples[(name, frozenset(labels.items()))]


def test_the_metrics_agree_with_the_history(
    spawn: Callable[..., ClockProcess], client: redis.Redis, namespace: str, tmp_path: Path
) -> None:
    ledger = tmp_path / "runs.jsonl"
    fleet = Fleet(
        spawn, ledger, WORKER_SCHEDULES="sec,never", LOCKCLOCK_DISPATCH="inline",
        WORKER_JOB_SECONDS="0.05",
    )  # fmt: skip
    clock = fleet.clock()
    store = Store(client, namespace)
    wait_for(lambda: len(rows(ledger, "end")) >= 4, 20, "runs of sec")
    ops = Operations(store)
    who = Actor(actor="test", source="python", reason="metrics")
    request_id, _ = ops.trigger("never", who=who)
    ops.wait(request_id, 5)
    ops.pause("never", who=who)
    live = scrape(store)
    leader = str(client.hget(store.keys.lease, "clock"))
    assert active_pid(client, namespace) == clock.pid
    assert value(live, "lockclock_clock_leader", clock=leader) == 1
    assert value(live, "lockclock_clock_up", clock=leader) == 1
    assert value(live, "lockclock_schedule_paused", schedule="never") == 1
    assert value(live, "lockclock_schedule_paused", schedule="sec") == 0
    fleet.stop(fleet.clocks)
    samples = scrape(store)
    sec = [r for r in records(client, namespace, "sec").values() if r.fence]
    ok = [r for r in sec if r.status == "ok"]
    assert len(ok) >= 4
    assert value(
        samples, "lockclock_runs_total", schedule="sec", outcome="ok", trigger="tick"
    ) == len(ok)
    assert (
        value(samples, "lockclock_runs_total", schedule="never", outcome="ok", trigger="manual")
        == 1
    )
    started = [r for r in sec if r.started_ms]
    assert value(samples, "lockclock_run_start_lateness_seconds_count", schedule="sec") == len(
        started
    )
    lateness_sum = sum((r.started_ms or 0) - r.tick for r in started) / 1000
    assert (
        abs(
            value(samples, "lockclock_run_start_lateness_seconds_sum", schedule="sec")
            - lateness_sum
        )
        < 0.01
    )
    timed = [r for r in sec if r.duration_ms is not None]
    assert value(samples, "lockclock_run_duration_seconds_count", schedule="sec") == len(timed)
    under_1s = sum(1 for r in timed if (r.duration_ms or 0) / 1000 <= 1)
    assert (
        value(samples, "lockclock_run_duration_seconds_bucket", schedule="sec", le="1.0")
        == under_1s
    )
    assert (
        value(samples, "lockclock_schedule_last_success_timestamp_seconds", schedule="sec")
        == max(r.finished_ms or 0 for r in ok) / 1000
    )
    assert value(samples, "lockclock_missed_ticks_total", schedule="sec") == sum(
        1 for r in records(client, namespace, "sec").values() if r.status == "missed"
    )
    # series per schedule are capped, and the omitted count says so
    capped = scrape(store, limit=1)
    assert value(capped, "lockclock_metrics_schedules_omitted") == 1
    assert ("lockclock_schedule_paused", frozenset({("schedule", "sec")})) not in capped

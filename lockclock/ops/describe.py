"""`lockclock describe`: one schedule as an operator needs it (what it is, in words;
whether it is paused; its next ticks; its recent runs; what runs now; how long runs take
and how often they fail), from Redis alone: no app code is imported.

Counts over 24 hours and 7 days come from the hourly counters the scripts keep when a
run ends (`stats:<schedule>`), not from the history, which is capped.
"""

from __future__ import annotations

import dataclasses
import statistics
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from ..coordination.records import Pause, PublishedSchedule, RunRecord
from ..coordination.store import Store
from ..errors import LockclockError
from ..logs import iso_ms
from ..scheduling.model import Trigger, make_trigger
from ..scheduling.words import in_words
from .control import Operations
from .read_model import read_history

OUTCOMES = ("ok", "error", "missed", "skipped", "timed_out", "lost", "cancelled", "paused")
HOUR_MS = 3_600_000


@dataclass(frozen=True, kw_only=True)
class Histogram:
    """Bucket upper bounds (seconds) with cumulative counts, as Prometheus has them."""

    bounds: tuple[float, ...]
    cumulative: tuple[int, ...]  # one per bound, then +Inf
    sum_s: float
    count: int

    def to_json(self) -> dict[str, Any]:
        return {
            "buckets": {
                **{f"{b:g}": c for b, c in zip(self.bounds, self.cumulative, strict=False)},
                "+Inf": self.count,
            },
            "sum_s": round(self.sum_s, 3),
            "count": self.count,
        }


# the bounds the scripts use (coordination/lua/runs.lua)
LATE_BOUNDS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)
DURATION_BOUNDS = (0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 1800, 3600, 7200)


@dataclass(frozen=True, kw_only=True)
class ScheduleStats:
    schedule: str
    last_24h: dict[str, int]
    last_7d: dict[str, int]
    totals: dict[str, dict[str, int]]  # outcome -> trigger (tick, manual, resume) -> count
    last_success_ms: int | None
    lateness: Histogram
    duration: Histogram
    # from the runs kept in the history (capped): ended runs that ran
    p50_duration_ms: int | None = None
    p95_duration_ms: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "schedule": self.schedule,
            "last_24h": self.last_24h,
            "last_7d": self.last_7d,
            "totals": self.totals,
            "last_success": iso_ms(self.last_success_ms),
            "last_success_ms": self.last_success_ms,
            "p50_duration_ms": self.p50_duration_ms,
            "p95_duration_ms": self.p95_duration_ms,
            "lateness_s": self.lateness.to_json(),
            "duration_s": self.duration.to_json(),
        }


@dataclass(frozen=True, kw_only=True)
class ScheduleDescription:
    name: str
    published: PublishedSchedule
    words: str
    pause: Pause | None
    next_ticks_ms: list[int]
    recent: list[RunRecord]
    running: list[RunRecord]
    stats: ScheduleStats
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "spec": self.published.to_json(),
            "words": self.words,
            "paused": self.pause.to_json() if self.pause else None,
            "next_ticks": [iso_ms(t) for t in self.next_ticks_ms],
            "recent": [r.to_json() for r in self.recent],
            "running": [r.to_json() for r in self.running],
            "stats": self.stats.to_json(),
        }


def trigger_of(name: str, spec: PublishedSchedule) -> Trigger | None:
    """The trigger, rebuilt from what the clock published; None if it published too
    little (an older clock)."""
    if spec.cron is None and spec.every_s is None:
        return None
    try:
        return make_trigger(spec.cron, spec.every_s, spec.at, ZoneInfo(spec.tz), name)
    except (LockclockError, ValueError, KeyError):
        return None


def next_ticks(name: str, spec: PublishedSchedule, after_ms: int, count: int) -> list[int]:
    """The next ticks; [] if the schedule is disabled or published by an older clock."""
    trigger = trigger_of(name, spec) if spec.enabled else None
    if trigger is None:
        return []
    out: list[int] = []
    t = after_ms
    for _ in range(count):
        t = trigger.next_after(t)
        out.append(t)
    return out


def _histogram(raw: dict[str, str], name: str, bounds: tuple[float, ...]) -> Histogram:
    counts = [int(raw.get(f"{name}:b{i + 1}", 0)) for i in range(len(bounds) + 1)]
    cumulative, total = [], 0
    for c in counts[: len(bounds)]:
        total += c
        cumulative.append(total)
    return Histogram(
        bounds=bounds,
        cumulative=tuple(cumulative),
        sum_s=float(raw.get(f"{name}:sum", 0) or 0),
        count=int(raw.get(f"{name}:count", 0)),
    )


def read_stats_hash(store: Store, name: str) -> dict[str, str]:
    return {str(k): str(v) for k, v in store.redis.hgetall(store.keys.stats(name)).items()}


def stats_from(name: str, raw: dict[str, str], now_ms: int) -> ScheduleStats:
    hour = now_ms // HOUR_MS
    day: dict[str, int] = dict.fromkeys(OUTCOMES, 0)
    week: dict[str, int] = dict.fromkeys(OUTCOMES, 0)
    totals: dict[str, dict[str, int]] = {}
    for key, value in raw.items():
        parts = key.split(":")
        if parts[0] == "h" and len(parts) == 3:
            h, outcome = int(parts[1]), parts[2]
            if hour - h < 24:
                day[outcome] = day.get(outcome, 0) + int(value)
            if hour - h < 24 * 7:
                week[outcome] = week.get(outcome, 0) + int(value)
        elif parts[0] == "total" and len(parts) == 3:
            totals.setdefault(parts[1], {})[parts[2]] = int(value)
    last = raw.get("last_success_ms")
    return ScheduleStats(
        schedule=name,
        last_24h=day,
        last_7d=week,
        totals=totals,
        last_success_ms=int(float(last)) if last else None,
        lateness=_histogram(raw, "late", LATE_BOUNDS),
        duration=_histogram(raw, "duration", DURATION_BOUNDS),
    )


def schedule_stats(
    store: Store, name: str, *, history: list[RunRecord] | None = None
) -> ScheduleStats:
    Operations(store).published(name)
    now = store.server_ms()
    stats = stats_from(name, read_stats_hash(store, name), now)
    runs = history if history is not None else store.history.runs(name, 200)
    durations = sorted(r.duration_ms for r in runs if r.duration_ms is not None and r.ended)
    if not durations:
        return stats
    p95 = durations[min(len(durations) - 1, round(0.95 * (len(durations) - 1)))]
    return dataclasses.replace(
        stats, p50_duration_ms=int(statistics.median(durations)), p95_duration_ms=p95
    )


def describe_schedule(store: Store, name: str, *, recent: int = 20) -> ScheduleDescription:
    ops = Operations(store)
    spec = ops.published(name)
    now = store.server_ms()
    history = read_history(store, name, 200)
    running = [r for r in history if not r.ended]
    return ScheduleDescription(
        name=name,
        published=spec,
        words=in_words(trigger) if (trigger := trigger_of(name, spec)) else spec.trigger,
        pause=ops.pause_of(name),
        next_ticks_ms=next_ticks(name, spec, now, 10),
        recent=history[:recent],
        running=running,
        stats=schedule_stats(store, name, history=history),
    )

"""A schedule: a job, when it is due (UTC epoch-millisecond ticks) and what to do about
ticks that passed while no clock could fire them.

Pure: no Redis, no Sentry. The trigger arithmetic lives in `cron.py` and `interval.py`,
the DST rule in `zones.py`; the options a user writes are declared in `lockclock.options`,
which builds a `Schedule` with the helpers below.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal, get_args
from zoneinfo import ZoneInfo

from ..errors import ScheduleError
from .cron import CronTrigger
from .interval import IntervalTrigger, parse_interval
from .zones import zone_name

CatchupPolicy = Literal["latest", "skip", "all"]
CATCHUP_POLICIES: tuple[CatchupPolicy, ...] = get_args(CatchupPolicy)
# What a newly due tick does while a run of the same schedule has not ended.
OverlapPolicy = Literal["skip", "queue", "allow"]
OVERLAP_POLICIES: tuple[OverlapPolicy, ...] = get_args(OverlapPolicy)
_QUEUE_NAME = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")
Trigger = CronTrigger | IntervalTrigger


@dataclass(frozen=True, kw_only=True)
class Schedule:
    """A job, when it runs, and what to do about ticks missed while no clock was up."""

    name: str
    func: Callable[..., Any]
    trigger: Trigger
    tz: ZoneInfo
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    catchup: CatchupPolicy
    catchup_limit: int
    max_lateness_s: float
    enabled: bool
    is_async: bool
    queue: str = "default"
    overlap: OverlapPolicy = "skip"
    retries: int = 0
    retry_backoff_s: float = 10.0
    max_deliveries: int = 3
    timeout_s: float | None = None  # asked to stop past this, recorded timed_out past the grace

    def __post_init__(self) -> None:
        try:
            check_name(self.name)
            self._validate()
        except ScheduleError as exc:
            raise ScheduleError(f"schedule {self.name!r}: {exc}") from None

    def _validate(self) -> None:
        if not callable(self.func):
            raise ScheduleError(f"func must be callable, got {type(self.func).__name__}")
        if self.trigger.tz != self.tz:
            raise ScheduleError(
                f"trigger zone {zone_name(self.trigger.tz)} differs from schedule zone "
                f"{zone_name(self.tz)}: build both with the same tz"
            )
        check_json(self.args, self.kwargs)
        if self.catchup not in CATCHUP_POLICIES:
            raise ScheduleError(
                f"invalid catchup {self.catchup!r}: use one of {', '.join(CATCHUP_POLICIES)}"
            )
        limit = self.catchup_limit
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ScheduleError(
                f"invalid catchup_limit {limit!r}: use an integer >= 1 "
                "(how many missed ticks catchup='all' replays)"
            )
        lateness = self.max_lateness_s
        if (
            isinstance(lateness, bool)
            or not isinstance(lateness, (int, float))
            or math.isnan(lateness)
            or lateness <= 0
        ):
            raise ScheduleError(
                f"invalid max_lateness {lateness!r}: use a number of seconds > 0 "
                "or a positive timedelta"
            )
        if not isinstance(self.queue, str) or not _QUEUE_NAME.match(self.queue):
            raise ScheduleError(
                f"invalid queue {self.queue!r}: use 1-64 of A-Z a-z 0-9 _ . - such as 'reports'"
            )
        if self.overlap not in OVERLAP_POLICIES:
            raise ScheduleError(
                f"invalid overlap {self.overlap!r}: use one of {', '.join(OVERLAP_POLICIES)}"
            )
        _check_count("retries", self.retries, 0, "how often a run that raised is tried again")
        _check_count("max_deliveries", self.max_deliveries, 1, "deliveries to workers that died")
        timeout = self.timeout_s
        if timeout is not None and (
            isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0
        ):
            raise ScheduleError(
                f"invalid timeout {timeout!r}: use seconds > 0, a timedelta, or None (no timeout)"
            )
        backoff = self.retry_backoff_s
        if isinstance(backoff, bool) or not isinstance(backoff, (int, float)) or not backoff > 0:
            raise ScheduleError(
                f"invalid retry_backoff {backoff!r}: use seconds > 0 or a positive timedelta "
                "(the wait before the first retry; it doubles after each, up to 10 minutes)"
            )

    def next_after(self, t_ms: int) -> int:
        """Smallest tick strictly after t_ms (UTC epoch ms)."""
        return self.trigger.next_after(t_ms)

    def ticks_between(self, after_ms: int, until_ms: int, *, limit: int) -> tuple[list[int], bool]:
        """Ticks in (after_ms, until_ms], ascending; if there are more than limit, the most
        recent limit of them and True. Interval grids use arithmetic; cron walks back from
        until_ms with a previous-tick search, so the cost is O(limit) however long the range."""
        return self.trigger.ticks_between(after_ms, until_ms, limit=limit)

    def describe(self) -> str:
        return f"{self.trigger.describe()} in {zone_name(self.tz)}"


def _check_count(label: str, value: object, least: int, what: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not least <= value <= 100:
        raise ScheduleError(f"invalid {label}={value!r}: use an integer {least}-100 ({what})")


def seconds(value: float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else value


def check_name(name: str) -> None:
    if not isinstance(name, str) or not name.strip() or not name.isprintable():
        raise ScheduleError(
            "invalid schedule name: use a non-empty single-line string such as 'app.nightly'"
        )


def check_json(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """Arguments travel through Redis and logs as JSON, so refuse what JSON cannot carry."""
    bad_keys = [k for k in kwargs if not isinstance(k, str)]
    if bad_keys:
        raise ScheduleError(f"kwargs keys must be strings, got {bad_keys[0]!r}")
    for label, value in (("args", list(args)), ("kwargs", kwargs)):
        try:
            json.dumps(value, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise ScheduleError(
                f"{label} must be JSON-serialisable ({exc}): pass plain str/int/float/bool/"
                "None/list/dict values and look objects up inside the job"
            ) from None


def check_arguments(args: object, kwargs: object) -> tuple[tuple[Any, ...], dict[str, Any]]:
    if isinstance(args, (str, bytes)) or not isinstance(args, Sequence):
        raise ScheduleError(
            f"args must be a list or tuple, got {type(args).__name__}: e.g. args=[42]"
        )
    if kwargs is not None and not isinstance(kwargs, Mapping):
        raise ScheduleError(f"kwargs must be a dict, got {type(kwargs).__name__}")
    return tuple(args), dict(kwargs or {})


def default_name(func: Callable[..., Any]) -> str:
    module = getattr(func, "__module__", None) or type(func).__module__
    qualname = getattr(func, "__qualname__", None) or type(func).__qualname__
    return f"{module}.{qualname}"


def make_trigger(
    cron: str | None,
    every: str | int | float | timedelta | None,
    at: str | None,
    zone: ZoneInfo,
    name: str,
) -> Trigger:
    if cron is not None and every is not None:
        raise ScheduleError("give either cron= or every=, not both")
    if cron is None and every is None:
        raise ScheduleError("give cron='*/5 * * * *' or every='5m' to say when it runs")
    if at is not None and not isinstance(at, str):
        raise ScheduleError(f"at must be a string such as ':15' or '04:30', got {at!r}")
    if cron is not None:
        if at is not None:
            raise ScheduleError("at= only applies to every=: put the time in the cron expression")
        return CronTrigger(expr=cron, tz=zone, hash_id=name)
    assert every is not None
    return IntervalTrigger(every_s=parse_interval(every), at=at, tz=zone)


def lateness_s(max_lateness: float | timedelta | None, period_s: float) -> float:
    """Default: one period (a tick older than that is superseded anyway), at least a minute."""
    if max_lateness is None:
        return max(period_s, 60.0)
    if isinstance(max_lateness, timedelta):
        return max_lateness.total_seconds()
    if isinstance(max_lateness, bool) or not isinstance(max_lateness, (int, float)):
        raise ScheduleError(
            f"invalid max_lateness {max_lateness!r}: use seconds > 0 or a positive timedelta"
        )
    return float(max_lateness)

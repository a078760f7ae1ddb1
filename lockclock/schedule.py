"""Schedules: a job, when it is due (as UTC epoch-millisecond ticks), and its policies.

The trigger arithmetic lives in `cron.py` and `interval.py`, the DST rule in
`zones.py`; this module validates a whole schedule and says what it means.
"""

from __future__ import annotations

import inspect
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from .cron import CronTrigger
from .errors import ScheduleError
from .interval import IntervalTrigger, parse_interval
from .monitors import AlertOptions, alert_options, check_monitor
from .zones import resolve_zone, zone_name

__all__ = [
    "CATCHUP_POLICIES",
    "CronTrigger",
    "IntervalTrigger",
    "Schedule",
    "Trigger",
    "make_schedule",
    "parse_interval",
    "resolve_zone",
]

CATCHUP_POLICIES = ("latest", "skip", "all")


class Trigger(Protocol):
    """What the scheduler needs from a trigger; ticks are UTC epoch milliseconds."""

    def next_after(self, t_ms: int) -> int: ...

    def describe(self) -> str: ...

    @property
    def nominal_period_s(self) -> float: ...

    @property
    def sentry_schedule(self) -> dict[str, Any] | None: ...


@dataclass(frozen=True, kw_only=True)
class Schedule:
    """A job, when it runs, and what to do about ticks missed while no clock was up."""

    name: str
    func: Callable[..., Any]
    trigger: CronTrigger | IntervalTrigger
    tz: ZoneInfo
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    catchup: str
    catchup_limit: int
    max_lateness_s: float
    enabled: bool
    is_async: bool
    alerting: AlertOptions = field(default_factory=AlertOptions)  # Sentry: see monitors.py

    def __post_init__(self) -> None:
        try:
            _check_name(self.name)
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
        _check_json(self.args, self.kwargs)
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


def _check_name(name: str) -> None:
    if not isinstance(name, str) or not name.strip() or not name.isprintable():
        raise ScheduleError(
            "invalid schedule name: use a non-empty single-line string such as 'app.nightly'"
        )


def _check_json(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
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


def _default_name(func: Callable[..., Any]) -> str:
    module = getattr(func, "__module__", None) or type(func).__module__
    qualname = getattr(func, "__qualname__", None) or type(func).__qualname__
    return f"{module}.{qualname}"


def make_schedule(
    func: Callable[..., Any],
    cron: str | None = None,
    *,
    every: str | int | float | timedelta | None = None,
    at: str | None = None,
    tz: str | ZoneInfo | None = None,
    name: str | None = None,
    args: Sequence[Any] = (),
    kwargs: Mapping[str, Any] | None = None,
    catchup: str = "latest",
    catchup_limit: int = 10,
    max_lateness: float | timedelta | None = None,
    enabled: bool = True,
    monitor: bool | str | None = None,
    checkin_margin: int | timedelta | None = None,
    max_runtime: int | timedelta = 30,
    alert_late_after: float | timedelta | None = 60.0,
    failure_issue_threshold: int = 1,
    recovery_threshold: int = 1,
) -> Schedule:
    """Validate everything up front so a bad schedule fails at import, not at 3 a.m.

    The last six options concern Sentry (see `monitors.py` and the README's "Alerts in
    Sentry"); they do nothing unless SENTRY_DSN is set."""
    if not callable(func):
        raise ScheduleError(
            f"schedule {name!r}: func must be callable, got {type(func).__name__}"
            if name is not None
            else f"schedule target {func!r} is not callable: pass the function itself"
        )
    if name is None:
        name = _default_name(func)
    try:
        _check_name(name)
    except ScheduleError as exc:
        raise ScheduleError(f"{exc} (got {name!r})") from None
    try:
        zone = resolve_zone(tz)
        trigger = _make_trigger(cron, every, at, zone, name)
        if isinstance(args, (str, bytes)) or not isinstance(args, Sequence):
            raise ScheduleError(
                f"args must be a list or tuple, got {type(args).__name__}: e.g. args=[42]"
            )
        if kwargs is not None and not isinstance(kwargs, Mapping):
            raise ScheduleError(f"kwargs must be a dict, got {type(kwargs).__name__}")
        lateness = _lateness_s(max_lateness, trigger.nominal_period_s)
        alerting = alert_options(
            monitor=monitor,
            checkin_margin=checkin_margin,
            max_runtime=max_runtime,
            alert_late_after=alert_late_after,
            failure_issue_threshold=failure_issue_threshold,
            recovery_threshold=recovery_threshold,
        )
        check_monitor(trigger, alerting)
    except ScheduleError as exc:
        raise ScheduleError(f"schedule {name!r}: {exc}") from None
    return Schedule(
        name=name,
        func=func,
        trigger=trigger,
        tz=zone,
        args=tuple(args),
        kwargs=dict(kwargs or {}),
        catchup=catchup,
        catchup_limit=catchup_limit,
        max_lateness_s=lateness,
        enabled=bool(enabled),
        is_async=inspect.iscoroutinefunction(func),
        alerting=alerting,
    )


def _make_trigger(
    cron: str | None,
    every: str | int | float | timedelta | None,
    at: str | None,
    zone: ZoneInfo,
    name: str,
) -> CronTrigger | IntervalTrigger:
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


def _lateness_s(max_lateness: float | timedelta | None, period_s: float) -> float:
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

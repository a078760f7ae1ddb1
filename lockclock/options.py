"""What `@schedule` accepts, declared once.

`ScheduleOptions` is the one definition of every option, its type and its default.
`Clock.schedule`, the module-level `schedule` and `make_schedule` take their signatures
from it (`takes_options`), so mypy and IDEs see the real parameters everywhere and the
list cannot drift. `build` validates the options into what each layer reads: the
`Schedule` (when, and what if missed) and Sentry's `AlertOptions`.
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import KW_ONLY, dataclass
from datetime import timedelta
from typing import Any, Concatenate, ParamSpec, TypeVar
from zoneinfo import ZoneInfo

from .errors import ScheduleError
from .scheduling import CatchupPolicy, OverlapPolicy, Schedule, resolve_zone
from .scheduling.model import (
    check_arguments,
    check_name,
    default_name,
    lateness_s,
    make_trigger,
    seconds,
)
from .sentry.monitors import check_monitor
from .sentry.options import AlertOptions, alert_options

P = ParamSpec("P")
R = TypeVar("R")


@dataclass(frozen=True)
class ScheduleOptions:
    """Every option of `@schedule(...)`; see the README's "Schedules" table."""

    cron: str | None = None  # 5 fields, or 6 with seconds
    _: KW_ONLY
    every: str | float | timedelta | None = None
    at: str | None = None
    tz: str | ZoneInfo | None = None  # None: the Clock's tz, else TZ, else UTC
    name: str | None = None  # None: module.qualname
    args: Sequence[Any] = ()
    kwargs: Mapping[str, Any] | None = None
    catchup: CatchupPolicy = "latest"
    catchup_limit: int = 10
    max_lateness: float | timedelta | None = None  # None: one period, at least 60 s
    enabled: bool = True
    # execution (see the README's "Workers")
    queue: str = "default"
    overlap: OverlapPolicy = "skip"
    retries: int = 0
    retry_backoff: float | timedelta = 10.0
    max_deliveries: int = 3
    timeout: float | timedelta | None = None  # not Sentry's max_runtime: see the README
    # Sentry (they do nothing unless SENTRY_DSN is set): see sentry/options.py
    monitor: bool | str | None = None
    checkin_margin: int | timedelta | None = None
    max_runtime: int | timedelta = 30
    alert_late_after: float | timedelta | None = 60.0
    failure_issue_threshold: int = 1
    recovery_threshold: int = 1


def parse_options(args: tuple[Any, ...], kwargs: dict[str, Any]) -> ScheduleOptions:
    """ScheduleOptions from a call's arguments; a misspelt option is a ScheduleError that
    names the likely one, not a bare TypeError."""
    known = [n for n in inspect.signature(ScheduleOptions).parameters]
    for key in kwargs:
        if key not in known:
            close = difflib.get_close_matches(key, known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ScheduleError(
                f"unknown schedule option {key!r}{hint}: see the README's Schedules"
            )
    if len(args) > 1:
        raise ScheduleError(
            f"only the cron expression is positional, got {len(args)} positional arguments: "
            "pass the others by keyword, e.g. every='5m'"
        )
    return ScheduleOptions(*args, **kwargs)


@dataclass(frozen=True, kw_only=True)
class BuiltSchedule:
    schedule: Schedule
    alerting: AlertOptions


def build(
    func: Callable[..., Any], opts: ScheduleOptions, *, default_tz: str | ZoneInfo | None = None
) -> BuiltSchedule:
    """Validate everything up front so a bad schedule fails at import, not at 3 a.m."""
    name = opts.name
    if not callable(func):
        raise ScheduleError(
            f"schedule {name!r}: func must be callable, got {type(func).__name__}"
            if name is not None
            else f"schedule target {func!r} is not callable: pass the function itself"
        )
    if name is None:
        name = default_name(func)
    try:
        check_name(name)
    except ScheduleError as exc:
        raise ScheduleError(f"{exc} (got {name!r})") from None
    try:
        zone = resolve_zone(opts.tz if opts.tz is not None else default_tz)
        trigger = make_trigger(opts.cron, opts.every, opts.at, zone, name)
        args, kwargs = check_arguments(opts.args, opts.kwargs)
        lateness = lateness_s(opts.max_lateness, trigger.nominal_period_s)
        alerting = alert_options(
            monitor=opts.monitor,
            checkin_margin=opts.checkin_margin,
            max_runtime=opts.max_runtime,
            alert_late_after=opts.alert_late_after,
            failure_issue_threshold=opts.failure_issue_threshold,
            recovery_threshold=opts.recovery_threshold,
        )
        check_monitor(trigger, alerting)
    except ScheduleError as exc:
        raise ScheduleError(f"schedule {name!r}: {exc}") from None
    sched = Schedule(
        name=name,
        func=func,
        trigger=trigger,
        tz=zone,
        args=args,
        kwargs=kwargs,
        catchup=opts.catchup,
        catchup_limit=opts.catchup_limit,
        max_lateness_s=lateness,
        enabled=bool(opts.enabled),
        is_async=inspect.iscoroutinefunction(func),
        queue=opts.queue,
        overlap=opts.overlap,
        retries=opts.retries,
        retry_backoff_s=seconds(opts.retry_backoff),
        max_deliveries=opts.max_deliveries,
        timeout_s=seconds(opts.timeout) if opts.timeout is not None else None,
    )
    return BuiltSchedule(schedule=sched, alerting=alerting)


def _signature(target: Callable[..., Any], *leading: str) -> inspect.Signature:
    sig = inspect.signature(ScheduleOptions)
    first = [inspect.Parameter(n, inspect.Parameter.POSITIONAL_ONLY) for n in leading]
    return sig.replace(
        parameters=[*first, *sig.parameters.values()],
        return_annotation=inspect.signature(target).return_annotation,
    )


def plain_signature(
    _: Callable[P, object],
) -> Callable[[Callable[..., R]], Callable[P, R]]:
    """Type a `(*args, **kwargs)` function as taking exactly ScheduleOptions' parameters,
    and give it that signature for `help()`."""

    def apply(target: Callable[..., R]) -> Callable[P, R]:
        target.__signature__ = _signature(target)  # type: ignore[attr-defined]
        return target

    return apply


def prefixed_signature(
    _: Callable[P, object], first: str
) -> Callable[[Callable[..., R]], Callable[Concatenate[Any, P], R]]:
    """The same with one positional parameter first: `self` of a method, or `func`."""

    def apply(target: Callable[..., R]) -> Callable[Concatenate[Any, P], R]:
        target.__signature__ = _signature(target, first)  # type: ignore[attr-defined]
        return target

    return apply


@prefixed_signature(ScheduleOptions, "func")
def make_schedule(func: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Schedule:
    """A validated `Schedule` for `func`, without a Clock (tests, tools)."""
    return build(func, parse_options(args, kwargs)).schedule

"""Sentry Crons monitors for schedules: per-schedule alert options, slugs, monitor_config.

Pure functions of a schedule, the namespace and the lease, so `lockclock check` shows
exactly what a running clock upserts, without Sentry or Redis. The SDK wiring is in
`alerts.py`.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from .errors import ConfigError, ScheduleError
from .zones import zone_name

if TYPE_CHECKING:
    from .cron import CronTrigger
    from .interval import IntervalTrigger
    from .schedule import Schedule

SLUG_MAX = 50  # Sentry's limit for a monitor slug
_SLUG_OK = re.compile(r"^(?![0-9]+$)[a-z0-9_-]{1,50}$")
# Sentry's own default: a run still in progress after 30 minutes is marked timed out.
DEFAULT_MAX_RUNTIME_MIN = 30
# Below a minute, lateness is a failover or loop lag that the lease already bounds;
# past it, a person waiting for the job's output starts to notice.
DEFAULT_LATE_AFTER_S = 60.0


@dataclass(frozen=True, kw_only=True)
class AlertOptions:
    """What a schedule reports to Sentry; validated at decoration, so mistakes fail early."""

    monitor: bool | str | None = None  # None: a monitor whenever Sentry can express it
    checkin_margin_min: int | None = None  # None: from the lease (default_margin_min)
    max_runtime_s: float = DEFAULT_MAX_RUNTIME_MIN * 60.0
    late_after_s: float | None = DEFAULT_LATE_AFTER_S  # None: no late-start warnings
    failure_issue_threshold: int = 1
    recovery_threshold: int = 1

    def __post_init__(self) -> None:
        m = self.monitor
        if isinstance(m, str) and not _SLUG_OK.match(m):
            raise ScheduleError(
                f"invalid monitor={m!r}: a Sentry monitor slug is 1-50 of a-z 0-9 _ - "
                "(not only digits), or pass True/False"
            )
        if m is not None and not isinstance(m, (bool, str)):
            raise ScheduleError(f"invalid monitor={m!r}: use True, False or a slug string")
        for label, value in (
            ("failure_issue_threshold", self.failure_issue_threshold),
            ("recovery_threshold", self.recovery_threshold),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 720:
                raise ScheduleError(
                    f"invalid {label}={value!r}: use an integer 1-720 (consecutive check-ins)"
                )


def _minutes(label: str, value: object, what: str) -> float:
    """Whole minutes (Sentry's unit) or a timedelta, as seconds."""
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, int) and not isinstance(value, bool):
        seconds = value * 60.0
    else:
        seconds = float("nan")
    if not seconds > 0:
        raise ScheduleError(
            f"invalid {label}={value!r}: use whole minutes >= 1 or a positive timedelta ({what})"
        )
    return seconds


def alert_options(
    *,
    monitor: bool | str | None,
    checkin_margin: int | timedelta | None,
    max_runtime: int | timedelta,
    alert_late_after: float | timedelta | None,
    failure_issue_threshold: int,
    recovery_threshold: int,
) -> AlertOptions:
    """Validate the keyword options of `@schedule` that concern Sentry."""
    margin = None
    if checkin_margin is not None:
        margin_s = _minutes("checkin_margin", checkin_margin, "how late a check-in may be")
        margin = max(1, math.ceil(margin_s / 60))
    runtime_s = _minutes("max_runtime", max_runtime, "how long a run may take")
    late: float | None = None
    if alert_late_after is not None:
        if isinstance(alert_late_after, timedelta):
            late = alert_late_after.total_seconds()
        elif isinstance(alert_late_after, (int, float)) and not isinstance(alert_late_after, bool):
            late = float(alert_late_after)
        if late is None or not late > 0:
            raise ScheduleError(
                f"invalid alert_late_after={alert_late_after!r}: use seconds > 0, a timedelta, "
                "or None for no late-start warnings"
            )
    return AlertOptions(
        monitor=monitor,
        checkin_margin_min=margin,
        max_runtime_s=runtime_s,
        late_after_s=late,
        failure_issue_threshold=failure_issue_threshold,
        recovery_threshold=recovery_threshold,
    )


def check_monitor(trigger: CronTrigger | IntervalTrigger, options: AlertOptions) -> None:
    """monitor=True or a slug asks for a monitor: refuse a schedule Sentry cannot express."""
    if options.monitor in (None, False) or trigger.sentry_schedule is not None:
        return
    raise ScheduleError(
        f"monitor={options.monitor!r} but Sentry Crons cannot express {trigger.describe()} "
        "(it needs a 5-field crontab or whole minutes): drop monitor=, or use monitor=False"
    )


def slug_for(namespace: str, name: str) -> str:
    """Stable slug from namespace + schedule name: lowercase a-z 0-9 _ -, at most 50
    characters; a long one keeps its start and ends in a hash of the full names."""
    slug = re.sub(r"[^a-z0-9_]+", "-", f"{namespace}-{name}".lower()).strip("-")
    if len(slug) > SLUG_MAX or not _SLUG_OK.match(slug):
        digest = hashlib.sha256(f"{namespace}\0{name}".encode()).hexdigest()[:8]
        slug = f"{slug[: SLUG_MAX - 9].rstrip('-') or 'lockclock'}-{digest}"
    return slug


def default_margin_min(lease_ttl_s: float) -> int:
    """Sentry's minimum, a minute, unless a lease is long enough that a failover (up to
    one lease) plus ingestion could run past it."""
    return max(1, math.ceil((lease_ttl_s + 30) / 60))


@dataclass(frozen=True, kw_only=True)
class Monitor:
    slug: str
    config: dict[str, Any]  # Sentry's monitor_config

    def describe(self) -> str:
        sched = self.config["schedule"]
        when = (
            f"crontab {sched['value']!r}"
            if sched["type"] == "crontab"
            else f"every {sched['value']} {sched['unit']}{'' if sched['value'] == 1 else 's'}"
        )
        return (
            f"{self.slug}: {when} {self.config['timezone']}, "
            f"margin {self.config['checkin_margin']} min, "
            f"max runtime {self.config['max_runtime']} min"
        )


def monitor_for(sched: Schedule, namespace: str, lease_ttl_s: float) -> Monitor | None:
    """The monitor a clock upserts for `sched`, or None (see `no_monitor_reason`)."""
    opts = sched.alerting
    expressed = sched.trigger.sentry_schedule
    if opts.monitor is False or expressed is None:
        return None
    slug = opts.monitor if isinstance(opts.monitor, str) else slug_for(namespace, sched.name)
    margin = opts.checkin_margin_min or default_margin_min(lease_ttl_s)
    config = {
        "schedule": expressed,
        "timezone": zone_name(sched.tz),
        "checkin_margin": margin,
        "max_runtime": max(1, math.ceil(opts.max_runtime_s / 60)),
        "failure_issue_threshold": opts.failure_issue_threshold,
        "recovery_threshold": opts.recovery_threshold,
    }
    return Monitor(slug=slug, config=config)


def no_monitor_reason(sched: Schedule) -> str:
    if sched.alerting.monitor is False:
        return "monitors off (monitor=False)"
    if sched.trigger.nominal_period_s < 60:
        return "no monitor: sub-minute schedule (Sentry Crons counts whole minutes)"
    return f"no monitor: Sentry Crons cannot express {sched.trigger.describe()}"


def plan_monitors(
    schedules: Sequence[Schedule], namespace: str, lease_ttl_s: float, *, unique: bool = True
) -> dict[str, Monitor | None]:
    """Each schedule's monitor; two schedules sharing a slug would corrupt both monitors,
    so that is an error unless `unique=False` (nothing is sent: Sentry is off)."""
    plan: dict[str, Monitor | None] = {}
    owner: dict[str, str] = {}
    for sched in schedules:
        mon = monitor_for(sched, namespace, lease_ttl_s)
        plan[sched.name] = mon
        if mon is None:
            continue
        if mon.slug in owner and unique:
            raise ConfigError(
                f"schedules {owner[mon.slug]!r} and {sched.name!r} would share the Sentry "
                f"monitor {mon.slug!r}: give one of them its own slug with monitor='...'"
            )
        owner[mon.slug] = sched.name
    return plan

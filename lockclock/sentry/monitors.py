"""Sentry Crons monitors for schedules: which schedules Sentry can express, slugs, and
the monitor_config each check-in carries.

Pure functions of a schedule, its alert options, the namespace and the lease, so
`lockclock check` shows exactly what a running clock upserts, without Sentry or Redis.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError, ScheduleError
from ..scheduling import CronTrigger, IntervalTrigger, Schedule, Trigger, zone_name
from ..scheduling.zones import DAY_S, HOUR_S
from .options import SLUG_MAX, SLUG_OK, AlertOptions


def sentry_schedule(trigger: Trigger) -> dict[str, Any] | None:
    """The trigger as Sentry's monitor schedule, or None when Sentry cannot express it
    (it knows 5-field crontabs and intervals of whole minutes or hours)."""
    if isinstance(trigger, CronTrigger):
        fields = list(trigger.resolved_fields())  # Sentry does not know H
        if len(fields) == 6:  # seconds first: Sentry knows only whole minutes
            if fields[0] not in ("0", "00"):
                return None
            fields = fields[1:]
        return {"type": "crontab", "value": " ".join(fields)}
    assert isinstance(trigger, IntervalTrigger)
    every = trigger.every_s
    if trigger.daily_at is not None:
        hour, minute, second = trigger.daily_at
        if every != DAY_S or second:
            return None  # Sentry cannot say "every other day" or seconds
        return {"type": "crontab", "value": f"{minute} {hour} * * *"}
    if every % HOUR_S == 0:
        return {"type": "interval", "value": every // HOUR_S, "unit": "hour"}
    if every % 60 == 0:
        return {"type": "interval", "value": every // 60, "unit": "minute"}
    return None


def check_monitor(trigger: Trigger, options: AlertOptions) -> None:
    """monitor=True or a slug asks for a monitor: refuse a schedule Sentry cannot express."""
    if options.monitor in (None, False) or sentry_schedule(trigger) is not None:
        return
    raise ScheduleError(
        f"monitor={options.monitor!r} but Sentry Crons cannot express {trigger.describe()} "
        "(it needs a 5-field crontab or whole minutes): drop monitor=, or use monitor=False"
    )


def slug_for(namespace: str, name: str) -> str:
    """Stable slug from namespace + schedule name: lowercase a-z 0-9 _ -, at most 50
    characters; a long one keeps its start and ends in a hash of the full names."""
    slug = re.sub(r"[^a-z0-9_]+", "-", f"{namespace}-{name}".lower()).strip("-")
    if len(slug) > SLUG_MAX or not SLUG_OK.match(slug):
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


def monitor_for(
    sched: Schedule, opts: AlertOptions, namespace: str, lease_ttl_s: float
) -> Monitor | None:
    """The monitor a clock upserts for `sched`, or None (see `no_monitor_reason`)."""
    expressed = sentry_schedule(sched.trigger)
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


def no_monitor_reason(sched: Schedule, opts: AlertOptions) -> str:
    if opts.monitor is False:
        return "monitors off (monitor=False)"
    if sched.trigger.nominal_period_s < 60:
        return "no monitor: sub-minute schedule (Sentry Crons counts whole minutes)"
    return f"no monitor: Sentry Crons cannot express {sched.trigger.describe()}"


def plan_monitors(
    schedules: Sequence[Schedule],
    alerting: Mapping[str, AlertOptions],
    namespace: str,
    lease_ttl_s: float,
    *,
    unique: bool = True,
) -> dict[str, Monitor | None]:
    """Each schedule's monitor; two schedules sharing a slug would corrupt both monitors,
    so that is an error unless `unique=False` (nothing is sent: Sentry is off)."""
    plan: dict[str, Monitor | None] = {}
    owner: dict[str, str] = {}
    for sched in schedules:
        mon = monitor_for(sched, alerting.get(sched.name, AlertOptions()), namespace, lease_ttl_s)
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

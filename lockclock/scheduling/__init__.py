"""When a schedule is due, and what to do about ticks that passed unfired.

Pure: no Redis, no Sentry, no clock of its own (times are arguments), so all of it is
tested with fake time. (Not named `schedule`: that is the public decorator's name.)
"""

from __future__ import annotations

from .catchup import ClaimAction, Outage, Plan, plan_due
from .cron import CronTrigger
from .interval import IntervalTrigger, parse_interval
from .model import (
    CATCHUP_POLICIES,
    OVERLAP_POLICIES,
    CatchupPolicy,
    OverlapPolicy,
    Schedule,
    Trigger,
)
from .zones import resolve_zone, zone_name

__all__ = [
    "CATCHUP_POLICIES",
    "OVERLAP_POLICIES",
    "CatchupPolicy",
    "ClaimAction",
    "CronTrigger",
    "IntervalTrigger",
    "Outage",
    "OverlapPolicy",
    "Plan",
    "Schedule",
    "Trigger",
    "parse_interval",
    "plan_due",
    "resolve_zone",
    "zone_name",
]

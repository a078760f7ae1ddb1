"""A schedule's reading in words ("Every 10 seconds", "At 03:00, Monday through
Friday"), from cron-descriptor, which reads six fields seconds first as lockclock does.
For `lockclock check` and the operators' views; never used to decide anything."""

from __future__ import annotations

from collections.abc import Sequence

from cron_descriptor import ExpressionDescriptor, Options

from .cron import CronTrigger
from .model import Trigger


def cron_in_words(fields: Sequence[str]) -> str:
    """The fields in words; H must already be resolved (cron-descriptor does not know it)."""
    options = Options()
    options.use_24hour_time_format = True
    options.verbose = False
    try:
        return str(ExpressionDescriptor(" ".join(fields), options).get_description())
    except Exception:  # a reading we cannot put in words is still a valid schedule
        return f"cron {' '.join(fields)!r}"


def in_words(trigger: Trigger) -> str:
    if isinstance(trigger, CronTrigger):
        return cron_in_words(trigger.resolved_fields())
    return trigger.describe().capitalize()


def legacy_reading(fields: Sequence[str]) -> list[str]:
    """Six fields as builds before seconds-first read them (seconds last), rewritten in
    today's order: the same schedule, seconds moved to the front."""
    assert len(fields) == 6
    return [fields[5], *fields[:5]]

"""Refusing what an upgrade would silently change.

Builds before key layout 2 read six-field crons with seconds last; lockclock now reads
them seconds first. A clock that finds one of its six-field schedules published by such
a build, under the same expression, refuses to start and gives both readings, because
the same text now means another schedule.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable

from ..coordination.store import Store
from ..errors import LayoutError
from ..scheduling import CronTrigger, Schedule
from ..scheduling.words import cron_in_words, in_words, legacy_reading

_PUBLISHED_CRON = re.compile(r"^cron '(?P<expr>[^']*)' in ")


def check_six_field_readings(store: Store, schedules: Iterable[Schedule]) -> None:
    raw = store.redis.hgetall(store.keys.legacy_schedules)
    if not raw:
        return
    for sched in schedules:
        trigger = sched.trigger
        if not isinstance(trigger, CronTrigger) or len(trigger.expr.split()) != 6:
            continue
        published = raw.get(sched.name)
        if published is None:
            continue
        match = _PUBLISHED_CRON.match(str(json.loads(published).get("trigger", "")))
        if match is None or match["expr"].split() != trigger.expr.split():
            continue
        old = legacy_reading(trigger.expr.split())
        if old == trigger.expr.split():
            continue  # both readings are the same schedule
        raise LayoutError(
            f"schedule {sched.name!r}: cron {trigger.expr!r} was published by an earlier "
            f"lockclock that read six fields seconds last ({cron_in_words(old)}); this one "
            f"reads them seconds first ({in_words(trigger)}): to keep the old meaning write "
            f"{' '.join(old)!r}, or to mean the new one delete the earlier record "
            f"(redis-cli -u $REDIS_URL DEL {store.keys.legacy_schedules})"
        )

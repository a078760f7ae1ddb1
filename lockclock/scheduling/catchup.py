"""Deciding what to do with ticks that are due now, some possibly long past.

Pure arithmetic, no Redis: the dispatcher asks `plan_due` and then claims what it says.
Ticks younger than the on-time window are the normal lag of a loop or a failover and
always run; older ticks passed while no clock could fire them and go through the
schedule's catch-up policy. Ticks up to a doubt horizon may already have run, their
claims lost with writes Redis forgot: they are recorded, never run again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from .model import CatchupPolicy, Schedule

# What the claim script is asked to do with one tick: run it ("run", subject to the
# overlap policy; "catchup", a missed tick the catch-up policy runs late, one after
# another), or record it missed (in doubt: it may have run already).
ClaimAction = Literal["run", "catchup", "missed", "doubt"]


@dataclass(frozen=True, kw_only=True)
class Outage:
    """Ticks of one schedule that passed while no clock could fire them, and what the
    catch-up policy did with them: one window per outage, stored and reported once."""

    schedule: str
    first_ms: int  # the first swallowed tick (unless the scan was truncated)
    last_ms: int
    count: int
    count_is_lower_bound: bool
    policy: CatchupPolicy
    run_late: int
    missed: int  # recorded missed, the ticks in doubt included
    in_doubt: int
    max_lateness_s: float
    detected_ms: int
    doubt_until_ms: int | None = None  # set when any tick was in doubt


@dataclass(frozen=True, kw_only=True)
class Plan:
    run: list[int]  # ticks to dispatch, ascending (the late ones among them too)
    missed: list[int]  # ticks to record as missed, ascending
    next_ms: int  # the schedule's first tick after now
    doubt: list[int] = field(default_factory=list)  # may have run: record, never run
    outage: Outage | None = None  # set when any tick was late or in doubt
    late: list[int] = field(default_factory=list)  # of `run`, the catch-up ones

    @property
    def items(self) -> list[tuple[int, ClaimAction]]:
        late = set(self.late)
        tagged: list[tuple[int, ClaimAction]] = [
            (t, "catchup" if t in late else "run") for t in self.run
        ]
        tagged += [(t, "missed") for t in self.missed]
        tagged += [(t, "doubt") for t in self.doubt]
        return sorted(tagged)


def plan_due(
    schedule: Schedule,
    *,
    first_tick_ms: int,
    now_ms: int,
    ontime_ms: int,
    limit: int,
    doubt_until_ms: int = 0,
) -> Plan:
    """What to do with the pending ticks of `schedule` from `first_tick_ms` up to now.

    Ticks at or before `doubt_until_ms` are in doubt whatever the policy: they count in
    the outage window and are recorded missed, because they may have run already.
    """
    next_ms = schedule.next_after(first_tick_ms)
    if next_ms > now_ms:  # the usual case: one tick due, no enumeration needed
        due, truncated = [first_tick_ms], False
    else:
        due, truncated = schedule.ticks_between(first_tick_ms - 1, now_ms, limit=limit)
        next_ms = schedule.next_after(now_ms)
    doubt = [t for t in due if t <= doubt_until_ms]
    ontime = [t for t in due if t > doubt_until_ms and now_ms - t <= ontime_ms]
    late = [t for t in due if t > doubt_until_ms and now_ms - t > ontime_ms]
    if not late and not doubt:
        return Plan(run=ontime, missed=[], next_ms=next_ms)
    max_lateness_ms = int(schedule.max_lateness_s * 1000)
    eligible = [t for t in late if now_ms - t <= max_lateness_ms]
    if schedule.catchup == "all":
        rerun = eligible[-schedule.catchup_limit :]
    elif schedule.catchup == "latest":
        rerun = eligible[-1:]
    else:
        rerun = []
    chosen = set(rerun)
    missed = [t for t in late if t not in chosen]
    swallowed = doubt + late  # both ascending, every doubtful tick first
    outage = Outage(
        schedule=schedule.name,
        first_ms=first_tick_ms,
        last_ms=swallowed[-1],
        count=len(swallowed),
        count_is_lower_bound=truncated,
        policy=schedule.catchup,
        run_late=len(rerun),
        missed=len(missed) + len(doubt),
        in_doubt=len(doubt),
        max_lateness_s=schedule.max_lateness_s,
        detected_ms=now_ms,
        doubt_until_ms=doubt_until_ms if doubt else None,
    )
    return Plan(
        run=sorted(rerun + ontime),
        missed=missed,
        doubt=doubt,
        next_ms=next_ms,
        outage=outage,
        late=sorted(rerun),
    )

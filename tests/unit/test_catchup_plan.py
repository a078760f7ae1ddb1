"""plan_due, the pure decision over due ticks (fake time is fine: no coordination here)."""

from __future__ import annotations

import pytest

from lockclock.options import make_schedule
from lockclock.scheduling import Schedule, plan_due

T0 = 1_795_000_000_000  # a whole minute, UTC
ONTIME = 6_000


def sched(**kw: object) -> Schedule:
    kw.setdefault("every", "10s")
    return make_schedule(lambda: None, name="s", **kw)  # type: ignore[arg-type]


def test_one_due_tick_runs_and_next_is_after_now() -> None:
    p = plan_due(sched(), first_tick_ms=T0, now_ms=T0 + 3, ontime_ms=ONTIME, limit=100)
    assert (p.run, p.missed, p.outage, p.next_ms) == ([T0], [], None, T0 + 10_000)


def test_failover_lag_inside_the_ontime_window_runs_everything() -> None:
    s = sched(every="1s")
    p = plan_due(s, first_tick_ms=T0, now_ms=T0 + 2_500, ontime_ms=ONTIME, limit=100)
    assert p.run == [T0, T0 + 1000, T0 + 2000] and p.missed == [] and p.outage is None
    assert p.next_ms == T0 + 3000


@pytest.mark.parametrize(
    ("policy", "run_late"),
    [("skip", []), ("latest", [T0 + 40_000]), ("all", [T0 + 20_000, T0 + 30_000, T0 + 40_000])],
)
def test_policies_over_an_outage(policy: str, run_late: list[int]) -> None:
    # ticks T0..T0+50s due; now = T0+51s: T0+50s is on time, the rest passed unfired
    s = sched(catchup=policy, catchup_limit=3)
    now = T0 + 51_000
    p = plan_due(s, first_tick_ms=T0, now_ms=now, ontime_ms=ONTIME, limit=100)
    late = [T0 + i * 10_000 for i in range(5)]
    assert p.run == [*run_late, T0 + 50_000]
    assert p.missed == [t for t in late if t not in run_late]
    assert p.outage is not None
    assert (p.outage.first_ms, p.outage.last_ms, p.outage.count) == (T0, T0 + 40_000, 5)
    assert (p.outage.run_late, p.outage.missed) == (len(run_late), 5 - len(run_late))
    assert p.next_ms == T0 + 60_000


def test_max_lateness_is_never_exceeded() -> None:
    s = sched(catchup="all", catchup_limit=100, max_lateness=25)
    p = plan_due(s, first_tick_ms=T0, now_ms=T0 + 51_000, ontime_ms=ONTIME, limit=100)
    assert p.run == [T0 + 30_000, T0 + 40_000, T0 + 50_000]
    assert p.missed == [T0, T0 + 10_000, T0 + 20_000]


def test_a_long_outage_is_truncated_but_counted_from_its_first_tick() -> None:
    s = sched(every="1s", catchup="skip")
    now = T0 + 86_400_000  # a day of per-second ticks
    p = plan_due(s, first_tick_ms=T0, now_ms=now, ontime_ms=ONTIME, limit=50)
    assert len(p.missed) + len(p.run) == 50
    assert p.outage is not None and p.outage.count_is_lower_bound
    assert p.outage.first_ms == T0 and p.outage.last_ms == now - ONTIME - 1000


@pytest.mark.parametrize("policy", ["skip", "latest", "all"])
def test_ticks_in_doubt_are_recorded_whatever_the_policy(policy: str) -> None:
    # ticks T0..T0+50s due; T0..T0+20s may have run before Redis lost their claims
    s = sched(catchup=policy, catchup_limit=3)
    now = T0 + 51_000
    p = plan_due(
        s, first_tick_ms=T0, now_ms=now, ontime_ms=ONTIME, limit=100, doubt_until_ms=T0 + 20_000
    )
    assert p.doubt == [T0, T0 + 10_000, T0 + 20_000]
    late = [T0 + 30_000, T0 + 40_000]  # the policy decides these as before
    run_late = {"skip": [], "latest": late[-1:], "all": late}[policy]
    assert p.run == [*run_late, T0 + 50_000]
    assert p.missed == [t for t in late if t not in run_late]
    assert p.outage is not None
    assert (p.outage.first_ms, p.outage.last_ms, p.outage.count) == (T0, T0 + 40_000, 5)
    assert p.outage.in_doubt == 3 and p.outage.doubt_until_ms == T0 + 20_000
    assert p.outage.missed == 3 + len(late) - len(run_late)
    assert ("doubt" in dict(p.items).values()) and len(p.items) == 6


def test_a_tick_in_doubt_inside_the_ontime_window_is_not_run() -> None:
    s = sched(every="1s")
    p = plan_due(
        s, first_tick_ms=T0, now_ms=T0 + 2_500, ontime_ms=ONTIME, limit=100, doubt_until_ms=T0
    )
    assert (p.doubt, p.run, p.missed) == ([T0], [T0 + 1000, T0 + 2000], [])
    assert p.outage is not None and (p.outage.count, p.outage.in_doubt) == (1, 1)
    # and no horizon, no doubt: the same ticks all run
    p = plan_due(s, first_tick_ms=T0, now_ms=T0 + 2_500, ontime_ms=ONTIME, limit=100)
    assert p.doubt == [] and p.outage is None

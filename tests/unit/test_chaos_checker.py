"""The soak's checker must catch each kind of violation, or a green soak means nothing."""

from __future__ import annotations

from typing import Any

import pytest

from tests.chaos.checker import Report, check, check_steps, implied_split
from tests.chaos.schedules import BATCH_STEPS, schedules

SCHEDS = {"sec": schedules()["sec"], "skip2s": schedules()["skip2s"]}
T0 = 1_800_000_000_000  # a whole second


def run(tick: int, fence: int, schedule: str = "sec", **extra: Any) -> dict[str, Any]:
    return {"schedule": schedule, "tick": tick, "fence": fence, "epoch": 1, "pid": 1,
            "late": 0.01, **extra}  # fmt: skip


def rec(tick: int, fence: int | None, status: str = "ok") -> dict[str, Any]:
    return {"tick": tick, "fence": fence, "epoch": 1, "status": status}


def judge(
    ledger: list[dict[str, Any]],
    records: dict[str, dict[int, dict[str, Any]]] | None = None,
    outages: dict[str, list[dict[str, Any]]] | None = None,
    timeline: list[dict[str, Any]] | None = None,
    end: int = 9000,
    scheds: tuple[str, ...] = ("sec", "skip2s"),
    workers: int = 0,
) -> Report:
    if records is None:
        records = {"sec": {}, "skip2s": {}}
        for r in ledger:
            records[r["schedule"]][r["tick"]] = rec(r["tick"], r["fence"])
    return check(
        schedules={name: SCHEDS[name] for name in scheds},
        ledger=ledger,
        records=records,
        outages=outages or {},
        timeline=timeline or [],
        start_ms=T0,
        end_ms=T0 + end,
        lease_ttl_s=1.0,
        workers=workers,
    )


def clean_ledger() -> list[dict[str, Any]]:
    ledger = [run(T0 + i * 1000, i) for i in range(1, 10)]
    ledger += [run(T0 + i * 2000, 100 + i, "skip2s") for i in range(1, 5)]
    return ledger


def kinds(report: Report) -> list[str]:
    return [v.kind for v in report.violations]


def test_a_clean_run_passes() -> None:
    report = judge(clean_ledger())
    assert kinds(report) == []
    assert report.due == {"sec": 9, "skip2s": 4}
    assert report.lateness["normal"]


def test_a_duplicate_dispatch_is_caught() -> None:
    ledger = [*clean_ledger(), run(T0 + 3000, 50)]
    assert "duplicate" in kinds(judge(ledger))


def test_a_silent_gap_is_caught_and_a_recorded_miss_is_not() -> None:
    ledger = [r for r in clean_ledger() if (r["schedule"], r["tick"]) != ("sec", T0 + 4000)]
    report = judge(ledger)
    assert kinds(report) == ["unreported_miss"]
    records = {"sec": {r["tick"]: rec(r["tick"], r["fence"]) for r in ledger if r["schedule"]
                       == "sec"}, "skip2s": {}}  # fmt: skip
    records["skip2s"] = {r["tick"]: rec(r["tick"], r["fence"]) for r in ledger
                         if r["schedule"] == "skip2s"}  # fmt: skip
    records["sec"][T0 + 4000] = rec(T0 + 4000, None, "missed")
    assert kinds(judge(ledger, records)) == []


def test_fences_out_of_order_or_reused_are_caught() -> None:
    ledger = clean_ledger()
    ledger[5]["fence"], ledger[6]["fence"] = ledger[6]["fence"], ledger[5]["fence"]
    assert "fence_order" in kinds(judge(ledger))
    ledger = clean_ledger()
    ledger[-1]["fence"] = ledger[0]["fence"]  # a skip2s run reusing a sec fence
    assert "fence_reused" in kinds(judge(ledger))


def test_a_record_from_another_dispatcher_is_caught() -> None:
    ledger = clean_ledger()
    report = judge(ledger, {"sec": {r["tick"]: rec(r["tick"], r["fence"] + 1000) for r in
                                    ledger if r["schedule"] == "sec"}, "skip2s": {}})  # fmt: skip
    assert "record_mismatch" in kinds(report)


@pytest.mark.parametrize(("policy", "count", "split"), [
    ("skip2s", 5, (0, 5)), ("sec", 5, (1, 4)), ("sec", 0, (0, 0)),
])  # fmt: skip
def test_policy_splits(policy: str, count: int, split: tuple[int, int]) -> None:
    assert implied_split(SCHEDS[policy], count) == split


def outage_scenario(run_late: int, missed: int, covered: bool = True) -> Report:
    """sec ran 1-2, every clock was down from 2.5 s to 8 s; on return ticks 3-5 were late
    (the policy 'latest' runs the last, tick 5, and records 3-4 missed)."""
    ledger = [run(T0 + 1000, 1), run(T0 + 2000, 2), run(T0 + 5000, 3)]
    records: dict[str, dict[int, dict[str, Any]]] = {"sec": {}, "skip2s": {}}
    for r in ledger:
        records["sec"][r["tick"]] = rec(r["tick"], r["fence"])
    records["sec"][T0 + 3000] = rec(T0 + 3000, None, "missed")
    records["sec"][T0 + 4000] = rec(T0 + 4000, None, "missed")
    window = {"first_ms": T0 + 3000, "last_ms": T0 + (5000 if covered else 4000),
              "count": 3 if covered else 2, "run_late": run_late, "missed": missed}  # fmt: skip
    timeline = [
        {"kind": "total_outage", "t_ms": T0 + 2500, "end_ms": T0 + 8000},
        {"kind": "outage_over", "t_ms": T0 + 8000},
    ]
    return judge(ledger, records, {"sec": [window]}, timeline, end=5000, scheds=("sec",))


def test_a_total_outage_is_checked_against_its_policy() -> None:
    assert kinds(outage_scenario(1, 2)) == []
    assert "outage_policy" in kinds(outage_scenario(0, 3))
    assert "outage_window" in kinds(outage_scenario(1, 1, covered=False))


def doubt_scenario(fault_at: int | None) -> Report:
    """sec ran 1-5; Redis then lost the claims of 4 and 5 with the active clock, and the
    clock that took over recorded 4-6 in doubt (6 passed while Redis restarted)."""
    ledger = [run(T0 + i * 1000, i) for i in range(1, 6)] + [run(T0 + 7000, 7)]
    records: dict[str, dict[int, dict[str, Any]]] = {"sec": {}, "skip2s": {}}
    for r in ledger:
        records["sec"][r["tick"]] = rec(r["tick"], r["fence"])
    for i in (4, 5, 6):
        records["sec"][T0 + i * 1000] = {**rec(T0 + i * 1000, None, "missed"), "doubt": True}
    window = {"first_ms": T0 + 4000, "last_ms": T0 + 6000, "count": 3, "run_late": 0,
              "missed": 3, "in_doubt": 3}  # fmt: skip
    timeline = []
    if fault_at is not None:
        timeline = [{"kind": "crash_with_active", "t_ms": fault_at, "end_ms": fault_at + 1500}]
    return judge(ledger, records, {"sec": [window]}, timeline, end=7000, scheds=("sec",))


def test_ticks_in_doubt_may_have_run_but_only_after_redis_lost_data() -> None:
    report = doubt_scenario(fault_at=T0 + 5500)
    assert kinds(report) == []
    assert (report.in_doubt, report.in_doubt_ran, report.records_lost) == (3, 2, 2)
    # the same records with no Redis fault near them: doubt used where nothing was lost
    assert set(kinds(doubt_scenario(fault_at=None))) == {"needless_doubt"}


def test_a_tick_in_doubt_is_justified_by_a_redis_crash_before_it_was_recorded() -> None:
    # a total outage swallowed tick 4; a clock came back, claimed, and Redis lost that
    # with a crash 10 s later; the next clock recorded 4 in doubt after the crash
    ledger = [run(T0 + i * 1000, i) for i in range(1, 4)] + [run(T0 + 20_000, 20)]
    records: dict[str, dict[int, dict[str, Any]]] = {"sec": {}, "skip2s": {}}
    for r in ledger:
        records["sec"][r["tick"]] = rec(r["tick"], r["fence"])
    for i in range(4, 20):
        t = T0 + i * 1000
        records["sec"][t] = {**rec(t, None, "missed"), "doubt": True, "claimed_ms": T0 + 19_500}
    window = {"first_ms": T0 + 4000, "last_ms": T0 + 19_000, "count": 16, "run_late": 0,
              "missed": 16, "in_doubt": 16}  # fmt: skip
    crash = [{"kind": "redis_crash", "t_ms": T0 + 14_000, "end_ms": T0 + 15_000}]
    report = judge(ledger, records, {"sec": [window]}, crash, end=20_000, scheds=("sec",))
    assert "needless_doubt" not in kinds(report)
    # the same crash after the records were written justifies none of them
    late = [{"kind": "redis_crash", "t_ms": T0 + 30_000, "end_ms": T0 + 31_000}]
    report = judge(ledger, records, {"sec": [window]}, late, end=20_000, scheds=("sec",))
    assert "needless_doubt" in kinds(report)


# -- with workers ----------------------------------------------------------------------


def test_with_workers_a_later_attempt_after_its_worker_was_killed_is_accepted() -> None:
    ledger = clean_ledger()
    ledger.append(run(T0 + 3000, 60, attempt=2, pid=2))  # attempt 1 ran on pid 1
    records = {"sec": {}, "skip2s": {}}
    for r in ledger:
        records[r["schedule"]][r["tick"]] = rec(r["tick"], r["fence"])
    kill = [{"t_ms": T0 + 3100, "end_ms": T0 + 3200, "kind": "kill_worker", "pid": 1}]
    report = judge(ledger, records=records, timeline=kill, workers=1)
    assert kinds(report) == [] and report.second_runs == 1


def test_with_workers_a_second_execution_with_no_crash_is_caught() -> None:
    ledger = [*clean_ledger(), run(T0 + 3000, 60, attempt=2, pid=2)]
    records = {"sec": {}, "skip2s": {}}
    for r in ledger:
        records[r["schedule"]][r["tick"]] = rec(r["tick"], r["fence"])
    assert "second_execution" in kinds(judge(ledger, records=records, workers=1))
    # and one grant executed twice is a duplicate even with workers
    twice = [*clean_ledger(), run(T0 + 3000, 3, pid=2)]
    assert "duplicate" in kinds(judge(twice, workers=1))


def test_an_attempt_number_comes_again_only_when_a_redis_crash_forgot_the_first() -> None:
    """Two crashes in a row: the run's outcome is lost, it is released and run again as
    attempt 2; the second crash forgets attempt 2, which is run again under a new fence."""
    ledger = [*clean_ledger(), run(T0 + 3000, 60, attempt=2, pid=2, late=3.0),
              run(T0 + 3000, 70, attempt=2, pid=2, late=6.0)]  # fmt: skip
    records = {"sec": {}, "skip2s": {}}
    for r in ledger:
        records[r["schedule"]][r["tick"]] = rec(r["tick"], r["fence"])
    crashes = [
        {"t_ms": T0 + 4000, "kind": "redis_crash"},
        {"t_ms": T0 + 8000, "kind": "redis_crash"},
    ]
    report = judge(ledger, records=records, timeline=crashes, workers=1)
    assert kinds(report) == [] and report.second_runs == 2
    kill = [{"t_ms": T0 + 3100, "end_ms": T0 + 3200, "kind": "kill_worker", "pid": 1}]
    assert "duplicate" in kinds(judge(ledger, records=records, timeline=kill, workers=1))


def test_with_workers_a_redis_crash_during_a_long_run_explains_its_second_attempt() -> None:
    """A crash 20 s after the tick, while the run still ran, is no excuse for the tick:
    it is one for an attempt that began after it, and none for one that began before."""
    ledger = [*clean_ledger(), run(T0 + 3000, 60, attempt=2, pid=2, late=21.0)]
    records = {"sec": {}, "skip2s": {}}
    for r in ledger:
        records[r["schedule"]][r["tick"]] = rec(r["tick"], r["fence"])
    crash = [{"t_ms": T0 + 23_000, "kind": "redis_crash"}]
    report = judge(ledger, records=records, timeline=crash, workers=1)
    assert kinds(report) == [] and report.second_runs == 1
    early = [*clean_ledger(), run(T0 + 3000, 60, attempt=2, pid=2, late=0.5)]
    assert "second_execution" in kinds(judge(early, records=records, timeline=crash, workers=1))


def test_with_workers_the_record_must_hold_the_last_attempt() -> None:
    ledger = [*clean_ledger(), run(T0 + 3000, 60, attempt=2, pid=2)]
    records = {"sec": {}, "skip2s": {}}
    for r in clean_ledger():
        records[r["schedule"]][r["tick"]] = rec(r["tick"], r["fence"])  # attempt 1's fence
    kill = [{"t_ms": T0 + 3100, "end_ms": T0 + 3200, "kind": "kill_worker", "pid": 1}]
    assert "record_mismatch" in kinds(judge(ledger, records=records, timeline=kill, workers=1))


def test_a_run_left_not_ended_is_caught() -> None:
    records = {"sec": {}, "skip2s": {}}
    for r in clean_ledger():
        records[r["schedule"]][r["tick"]] = rec(r["tick"], r["fence"])
    records["sec"][T0 + 5000]["status"] = "running"
    assert "not_ended" in kinds(judge(clean_ledger(), records=records))


def test_ticks_of_a_skip_streak_count_as_recorded() -> None:
    ledger = [
        r
        for r in clean_ledger()
        if not (r["schedule"] == "sec" and T0 + 4000 <= r["tick"] <= T0 + 6000)
    ]
    records = {"sec": {}, "skip2s": {}}
    for r in ledger:
        records[r["schedule"]][r["tick"]] = rec(r["tick"], r["fence"])
    assert "unreported_miss" in kinds(judge(ledger, records=records))
    streak = {"tick": T0 + 4000, "last_ms": T0 + 6000, "count": 3, "status": "skipped"}
    records["sec"][T0 + 4000] = streak
    assert kinds(judge(ledger, records=records)) == []


# -- long jobs (steps saved as progress) ---------------------------------------------

N = BATCH_STEPS


def steps_of(attempt: int, pid: int, steps: range, t0: float, *, saved: bool = True) -> list:
    """Rows of one attempt: each step started, then accepted unless `saved` is False for
    the last one (the step in flight when it stopped)."""
    out: list[dict[str, Any]] = []
    t = t0
    for n in steps:
        out.append({"kind": "step", "tick": T0, "step": n, "attempt": attempt, "pid": pid, "t": t})
        if saved or n != steps[-1]:
            out.append({"kind": "accepted", "tick": T0, "step": n, "attempt": attempt,
                        "pid": pid, "t": t + 0.2})  # fmt: skip
        t += 0.3
    return out


def judge_steps(
    steps: list[dict[str, Any]], timeline: list[dict[str, Any]] | None = None, status: str = "ok"
) -> Report:
    report = Report()
    check_steps(
        report,
        steps=steps,
        records={T0: {"tick": T0, "status": status}},
        timeline=timeline or [],
        total_steps=N,
    )
    return report


def fault(kind: str, pid: int, at_s: float) -> dict[str, Any]:
    t = int((T0 / 1000 + at_s) * 1000)
    return {"kind": kind, "pid": pid, "t_ms": t, "end_ms": t + 100}


def test_a_long_job_that_ran_through_passes() -> None:
    report = judge_steps(steps_of(1, 1, range(N), T0 / 1000))
    assert kinds(report) == [] and report.batch_ok == 1


def test_a_sigterm_resume_costs_no_step_and_a_repeated_one_is_caught() -> None:
    t = T0 / 1000
    clean = steps_of(1, 1, range(5), t) + steps_of(2, 2, range(5, N), t + 3)
    restart = [fault("worker_restart", 1, 1.5)]
    report = judge_steps(clean, restart)
    assert kinds(report) == [] and report.batch_resumed == 1
    repeated = steps_of(1, 1, range(6), t, saved=False) + steps_of(2, 2, range(5, N), t + 3)
    assert kinds(judge_steps(repeated, restart)) == ["step_twice"]


def test_a_redis_crash_at_the_step_in_flight_may_repeat_it() -> None:
    # the crash lost the worker's lease: its run went to another as if it had died
    t = T0 / 1000
    repeated = steps_of(1, 1, range(6), t, saved=False) + steps_of(2, 2, range(5, N), t + 3)
    report = judge_steps(repeated, [fault("redis_crash", 0, 1.4)])
    assert kinds(report) == [] and report.steps_repeated == {"Redis crash": 1}
    assert kinds(judge_steps(repeated, [fault("redis_crash", 0, 9.0)])) == ["step_twice"]


def test_a_redis_stall_costs_no_step() -> None:
    # nobody died: the worker beats again when Redis answers, and keeps its run
    t = T0 / 1000
    repeated = steps_of(1, 1, range(6), t, saved=False) + steps_of(2, 2, range(5, N), t + 3)
    stall = [{**fault("redis_unreachable", 0, 1.4), "end_ms": int((T0 / 1000 + 4) * 1000)}]
    assert kinds(judge_steps(repeated, stall)) == ["step_twice"]


def test_a_kill_9_may_repeat_the_step_in_flight_and_no_more() -> None:
    t = T0 / 1000
    kill = [fault("kill_worker", 1, 1.8)]
    one = steps_of(1, 1, range(6), t, saved=False) + steps_of(2, 2, range(5, N), t + 5)
    report = judge_steps(one, kill)
    assert kinds(report) == [] and report.steps_repeated == {"hard stop": 1}
    # starting before the last save is losing saved work
    two = steps_of(1, 1, range(6), t, saved=False) + steps_of(2, 2, range(4, N), t + 5)
    assert kinds(judge_steps(two, kill)) == ["progress_lost", "accepted_twice"]
    # unless a Redis crash lost the writes of its last second, saves included
    crash = [*kill, fault("redis_crash", 0, 1.8)]
    report = judge_steps(two, crash)
    assert kinds(report) == [] and report.steps_repeated["Redis lost the saves"] == 1
    # a crash long after the save excuses nothing
    assert "progress_lost" in kinds(judge_steps(two, [*kill, fault("redis_crash", 0, 9)]))


def test_a_zombie_save_or_a_step_saved_twice_is_caught() -> None:
    t = T0 / 1000
    pause = [fault("pause_worker", 1, 1.6)]
    rows = steps_of(1, 1, range(6), t, saved=False) + steps_of(2, 2, range(5, N), t + 4)
    late = {"kind": "accepted", "tick": T0, "step": 5, "attempt": 1, "pid": 1, "t": t + 4.5}
    assert kinds(judge_steps([*rows, late], pause)) == ["accepted_twice", "zombie_save"]


def test_a_run_that_ended_ok_must_have_run_and_saved_every_step() -> None:
    t = T0 / 1000
    skipped = [r for r in steps_of(1, 1, range(N), t) if r["step"] != 7]
    assert kinds(judge_steps(skipped)) == ["step_missing"]
    unsaved = [r for r in steps_of(1, 1, range(N), t) if (r["step"], r["kind"]) != (7, "accepted")]
    assert kinds(judge_steps(unsaved)) == ["step_unsaved"]
    # a process killed between its save and its ledger row: the step was saved
    kill = [fault("kill_worker", 1, 2.2)]
    cut = steps_of(1, 1, range(8), t, saved=False) + steps_of(2, 2, range(8, N), t + 5)
    assert kinds(judge_steps(cut, kill)) == []


def test_a_tick_whose_first_attempt_never_ran_keeps_the_fence_order() -> None:
    """Attempt 2 of tick 3 (its first never started: its worker died holding the entry)
    has a fence granted after later ticks' claims; only claims must rise in tick order."""
    ledger = [r for r in clean_ledger() if (r["schedule"], r["tick"]) != ("sec", T0 + 3000)]
    ledger.append(run(T0 + 3000, 60, attempt=2, pid=2))
    records: dict[str, dict[int, dict[str, Any]]] = {"sec": {}, "skip2s": {}}
    for r in ledger:
        records[r["schedule"]][r["tick"]] = rec(r["tick"], r["fence"])
    records["sec"][T0 + 3000]["claim_fence"] = 3
    assert kinds(judge(ledger, records=records, workers=1)) == []
    records["sec"][T0 + 3000]["claim_fence"] = 60  # a redelivery must get a higher fence
    assert "fence_order" in kinds(judge(ledger, records=records, workers=1))

"""The soak's checker must catch each kind of violation, or a green soak means nothing."""

from __future__ import annotations

from typing import Any

import pytest

from tests.chaos.checker import Report, check, implied_split
from tests.chaos.schedules import schedules

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

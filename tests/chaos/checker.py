"""Judge a soak by what the jobs saw (the ledger) against what was due.

Invariants (each breach is a violation; any violation fails the soak):
- no tick dispatched twice;
- every due tick ran or is recorded as missed in the run history; a tick that ran may
  be recorded "in doubt" (missed, may have run) only after a Redis crash or restart
  lost its claim, and a tick in doubt is never run again;
- fences strictly increase in tick order per schedule, and are never reused;
- after a total outage, the ticks it swallowed are covered by one outage record per
  schedule whose run/missed split is what the catch-up policy implies, and the history
  holds exactly that many missed records.

Lateness is reported (not judged) by cause: the fault whose window the tick fell in.
"""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from lockclock.schedule import Schedule
from tests.chaos.schedules import due_ticks

CAUSES = {
    "kill_active": "after kill -9",
    "daily_restart": "after SIGTERM handoff",
    "pause_active": "after SIGSTOP",
    "redis_crash": "after Redis fault",
    "crash_with_active": "after Redis + active crash",
    "redis_restart": "after Redis fault",
    "redis_unreachable": "after Redis fault",
    "client_kill": "after Redis fault",
    "total_outage": "after total outage",
}


@dataclass
class Violation:
    kind: str
    schedule: str
    tick_ms: int
    detail: str


@dataclass
class Report:
    violations: list[Violation] = field(default_factory=list)
    due: dict[str, int] = field(default_factory=dict)
    ran: dict[str, int] = field(default_factory=dict)
    missed: dict[str, int] = field(default_factory=dict)
    lateness: dict[str, list[float]] = field(default_factory=dict)
    outages_checked: int = 0
    records_lost: int = 0
    in_doubt: int = 0  # ticks recorded in doubt after Redis lost writes
    in_doubt_ran: int = 0  # of those, how many had run (each a duplicate, had it rerun)

    def fail(self, kind: str, schedule: str, tick_ms: int, detail: str) -> None:
        self.violations.append(Violation(kind, schedule, tick_ms, detail))

    def lateness_table(self) -> list[tuple[str, int, float, float, float]]:
        rows = []
        for cause, values in sorted(self.lateness.items()):
            v = sorted(values)
            p99 = v[min(len(v) - 1, int(len(v) * 0.99))]
            rows.append((cause, len(v), statistics.median(v), p99, v[-1]))
        return rows


def cause_of(tick_ms: int, timeline: list[dict[str, Any]], settle_ms: int) -> str:
    """The latest fault whose window (start - 1 s, end + settle) holds the tick."""
    found = "normal"
    for e in timeline:
        kind = e["kind"]
        if kind not in CAUSES:
            continue
        if e["t_ms"] - 1000 <= tick_ms <= e.get("end_ms", e["t_ms"]) + settle_ms:
            found = CAUSES[kind]
    return found


# Redis faults that can lose acknowledged writes, and how long before the fault a lost
# claim can lie (the AOF snapshot precedes the crash by up to 1.5 s) or after it a tick
# can still fall inside the doubt window (restart, noticing it, holding one lease).
LOSSY = ("redis_crash", "crash_with_active", "redis_restart")
DOUBT_BEFORE_MS = 5000


def near_lossy_fault(tick_ms: int, timeline: list[dict[str, Any]], settle_ms: int) -> bool:
    return any(
        e["t_ms"] - DOUBT_BEFORE_MS <= tick_ms <= e.get("end_ms", e["t_ms"]) + settle_ms
        for e in timeline
        if e["kind"] in LOSSY
    )


def implied_split(sched: Schedule, count: int) -> tuple[int, int]:
    """(run late, missed) that the catch-up policy implies for `count` late ticks
    (ignoring max_lateness, which the soak's schedules do not set)."""
    if sched.catchup == "skip":
        return 0, count
    if sched.catchup == "latest":
        return min(count, 1), max(count - 1, 0)
    run = min(count, sched.catchup_limit)
    return run, count - run


def check(
    *,
    schedules: dict[str, Schedule],
    ledger: list[dict[str, Any]],
    records: dict[str, dict[int, dict[str, Any]]],
    outages: dict[str, list[dict[str, Any]]],
    timeline: list[dict[str, Any]],
    start_ms: int,
    end_ms: int,
    lease_ttl_s: float,
) -> Report:
    report = Report()
    settle_ms = int(3 * lease_ttl_s * 1000) + 3000
    all_fences: Counter[int] = Counter()
    for name, sched in schedules.items():
        rows = sorted((r for r in ledger if r["schedule"] == name), key=lambda r: r["tick"])
        recs = records.get(name, {})
        runs = Counter(r["tick"] for r in rows)
        for tick, n in runs.items():
            if n > 1:
                pids = [r["pid"] for r in rows if r["tick"] == tick]
                report.fail("duplicate", name, tick, f"dispatched {n} times, by pids {pids}")
        missed = {t for t, rec in recs.items() if rec.get("status") == "missed"}
        doubt = {t for t, rec in recs.items() if rec.get("doubt")}
        due = due_ticks(sched, start_ms, end_ms)
        report.due[name] = len(due)
        report.ran[name] = sum(1 for t in due if t in runs)
        report.missed[name] = sum(1 for t in due if t in missed)
        report.in_doubt += len(doubt)
        report.in_doubt_ran += sum(1 for t in doubt if t in runs)
        for tick in due:
            if tick not in runs and tick not in missed:
                report.fail("unreported_miss", name, tick, "neither ran nor recorded missed")
            if tick in runs and tick in missed and tick not in doubt:
                report.fail("ran_and_missed", name, tick, "ran, yet recorded as missed")
        for tick in sorted(doubt):
            if not near_lossy_fault(tick, timeline, settle_ms):
                report.fail("needless_doubt", name, tick, "in doubt, but no Redis fault near")
        prev = None
        for r in rows:
            all_fences[r["fence"]] += 1
            if prev is not None and r["fence"] <= prev["fence"]:
                report.fail(
                    "fence_order",
                    name,
                    r["tick"],
                    f"fence {r['fence']} after fence {prev['fence']} (tick {prev['tick']})",
                )
            prev = r
            rec = recs.get(r["tick"])
            if rec is None or rec.get("doubt"):
                report.records_lost += 1  # acknowledged, then lost in a Redis crash
            elif rec.get("fence") != r["fence"] or rec.get("epoch") != r["epoch"]:
                report.fail("record_mismatch", name, r["tick"], f"record {rec} but the job saw {r}")
            cause = cause_of(r["tick"], timeline, settle_ms)
            report.lateness.setdefault(cause, []).append(r["late"])
        for o in outages.get(name, []):
            _check_outage_record(report, sched, o, runs, recs)
    for fence, n in all_fences.items():
        if n > 1:
            report.fail("fence_reused", "*", 0, f"fence {fence} given to {n} runs")
    for e in timeline:
        if e["kind"] == "total_outage":
            _check_total_outage(report, schedules, e, timeline, outages, ledger, lease_ttl_s)
    return report


def _check_outage_record(
    report: Report,
    sched: Schedule,
    o: dict[str, Any],
    runs: Counter[int],
    recs: dict[int, dict[str, Any]],
) -> None:
    ticks = due_ticks(sched, o["first_ms"] - 1, o["last_ms"])
    if not o.get("count_is_lower_bound") and o["count"] != len(ticks):
        report.fail(
            "outage_count", sched.name, o["first_ms"], f"{o['count']} late ticks but {ticks}"
        )
    in_doubt = int(o.get("in_doubt", 0))
    run_late, missed = implied_split(sched, o["count"] - in_doubt)
    missed += in_doubt  # recorded, whatever the policy, never run again
    if (o["run_late"], o["missed"]) != (run_late, missed):
        report.fail(
            "outage_policy",
            sched.name,
            o["first_ms"],
            f"{sched.catchup}: ran {o['run_late']} and missed {o['missed']} of {o['count']}, "
            f"the policy implies {run_late} and {missed}",
        )
    # ticks in doubt that ran, ran before the data loss, not as this outage's catch-up
    ran = sum(1 for t in ticks if t in runs and not recs.get(t, {}).get("doubt"))
    if ran != o["run_late"]:
        report.fail(
            "outage_runs", sched.name, o["first_ms"], f"{ran} ran, record says {o['run_late']}"
        )
    recorded = sum(1 for t in ticks if recs.get(t, {}).get("status") == "missed")
    if recorded != o["missed"] and all(t in recs for t in ticks if t not in runs):
        report.fail(
            "outage_missed",
            sched.name,
            o["first_ms"],
            f"{recorded} missed records, outage says {o['missed']}",
        )


def _check_total_outage(
    report: Report,
    schedules: dict[str, Schedule],
    e: dict[str, Any],
    timeline: list[dict[str, Any]],
    outages: dict[str, list[dict[str, Any]]],
    ledger: list[dict[str, Any]],
    lease_ttl_s: float,
) -> None:
    """Ticks due while every clock was down, and older than the on-time window when the
    first clock could come back, must lie in one outage window per schedule."""
    back = next(
        (x["t_ms"] for x in timeline if x["kind"] == "outage_over" and x["t_ms"] >= e["t_ms"]),
        None,
    )
    if back is None:
        return
    report.outages_checked += 1
    ontime_ms = int(3 * lease_ttl_s * 1000)
    for name, sched in schedules.items():
        before = [r["tick"] for r in ledger if r["schedule"] == name and r["tick"] <= e["t_ms"]]
        since = max(before) if before else e["t_ms"]
        swallowed = due_ticks(sched, max(since, e["t_ms"]), back - ontime_ms)
        if not swallowed:
            continue
        windows = [
            o
            for o in outages.get(name, [])
            if o["first_ms"] <= swallowed[0] and swallowed[-1] <= o["last_ms"]
        ]
        if len(windows) != 1:
            report.fail(
                "outage_window",
                name,
                swallowed[0],
                f"{len(swallowed)} ticks swallowed by the outage at {e['t_ms']} lie in "
                f"{len(windows)} outage records (expected 1)",
            )

"""Judge a soak by what the jobs saw (the ledger) against what was due.

Invariants (each breach is a violation; any violation fails the soak):
- no tick dispatched twice; with workers, a run may execute again only as a later
  attempt after its worker was killed, paused or stopped, or Redis lost writes;
- every claimed run ends with one recorded outcome, its last attempt's (no record is
  left queued, waiting or running);
- every due tick ran or is recorded as missed in the run history; a tick that ran may
  be recorded "in doubt" (missed, may have run) only after a Redis crash or restart
  lost its claim, and a tick in doubt is never run again;
- fences strictly increase in tick order per schedule, and are never reused;
- after a total outage, the ticks it swallowed are covered by one outage record per
  schedule whose run/missed split is what the catch-up policy implies, and the history
  holds exactly that many missed records.
- a long job (`batch`, saving progress after each step): every step of a run that
  ended ok ran and was saved; a SIGTERM costs no step; a kill -9 or a pause past the
  lease costs at most the step in flight; no attempt saves after a later one began.

Lateness is reported (not judged) by cause: the fault whose window the tick fell in.
"""

from __future__ import annotations

import itertools
import statistics
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from lockclock.scheduling import Schedule
from tests.chaos.schedules import BATCH_STEPS, due_ticks

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
    "kill_worker": "after worker kill -9",
    "pause_worker": "after worker SIGSTOP",
    "worker_restart": "after worker SIGTERM",
}
# What may run a run again: its worker's death, pause or stop (the pid is in the fault).
WORKER_FAULTS = ("kill_worker", "pause_worker", "worker_restart")
# Faults that stop a process without letting it stop its job between steps (a long
# job's step in flight may run again after these); SIGTERMs are not among them.
HARD_FAULTS = (
    "kill_worker",
    "pause_worker",
    "kill_active",
    "pause_active",
    "crash_with_active",
    "total_outage",
    "sigkill_after_grace",
)
# Faults after which a process's run may run again as a later attempt.
PROCESS_FAULTS = (*HARD_FAULTS, "worker_restart", "daily_restart")
# Schedules whose jobs save progress: inline too, a stopped or dead clock's run of
# them resumes as a later attempt on the next active clock.
RESUMABLE = ("batch",)


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
    skipped: int = 0  # ticks skipped by overlap
    lost: int = 0  # runs recorded lost (past max_deliveries, or an inline clock died)
    second_runs: int = 0  # later attempts that executed after a crash
    redelivered: int = 0  # runs with more than one attempt
    batch_ok: int = 0  # long-job runs that ended ok
    batch_resumed: int = 0  # later attempts of long jobs that resumed from progress
    steps_repeated: Counter[str] = field(default_factory=Counter)  # by the fault before

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


def near_fault(
    tick_ms: int, timeline: list[dict[str, Any]], settle_ms: int, kinds: tuple[str, ...]
) -> bool:
    return any(
        e["t_ms"] - DOUBT_BEFORE_MS <= tick_ms <= e.get("end_ms", e["t_ms"]) + settle_ms
        for e in timeline
        if e["kind"] in kinds
    )


def during(
    span: tuple[int, int], timeline: list[dict[str, Any]], settle_ms: int, kinds: tuple[str, ...]
) -> bool:
    """A fault of these kinds overlapped the span (widened as for one tick)."""
    first, last = span
    return any(
        e["t_ms"] - DOUBT_BEFORE_MS <= last and first <= e.get("end_ms", e["t_ms"]) + settle_ms
        for e in timeline
        if e["kind"] in kinds
    )


def near_lossy_fault(tick_ms: int, timeline: list[dict[str, Any]], settle_ms: int) -> bool:
    return near_fault(tick_ms, timeline, settle_ms, LOSSY)


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
    workers: int = 0,
    steps: list[dict[str, Any]] | None = None,
) -> Report:
    report = Report()
    settle_ms = int(3 * lease_ttl_s * 1000) + 3000
    all_fences: Counter[int] = Counter()
    faulted = pids_of(timeline, PROCESS_FAULTS)
    for name, sched in schedules.items():
        rows = sorted(
            (r for r in ledger if r["schedule"] == name),
            key=lambda r: (r["tick"], r.get("attempt", 1)),
        )
        recs = records.get(name, {})
        by_tick: dict[int, list[dict[str, Any]]] = {}
        for r in rows:
            by_tick.setdefault(r["tick"], []).append(r)
        runs = Counter({t: len(rs) for t, rs in by_tick.items()})
        for tick, attempts in by_tick.items():
            if len(attempts) > 1:
                _check_second_runs(report, name, tick, attempts, faulted, timeline, settle_ms,
                                   workers or name in RESUMABLE)  # fmt: skip
        missed = {t for t, rec in recs.items() if rec.get("status") == "missed"}
        doubt = {t for t, rec in recs.items() if rec.get("doubt")}
        skipped: set[int] = set()
        for t, rec in recs.items():
            if rec.get("status") == "skipped":
                skipped.update(due_ticks(sched, t - 1, int(rec.get("last_ms") or t)))
            if rec.get("status") in ("queued", "waiting", "running") and t <= end_ms:
                report.fail("not_ended", name, t, f"left {rec.get('status')}: {rec}")
            if rec.get("status") == "lost":
                report.lost += 1
            if (rec.get("attempt") or 1) > 1:
                report.redelivered += 1
        due = due_ticks(sched, start_ms, end_ms)
        report.due[name] = len(due)
        report.ran[name] = sum(1 for t in due if t in runs)
        report.missed[name] = sum(1 for t in due if t in missed)
        report.skipped += sum(1 for t in due if t in skipped)
        report.in_doubt += len(doubt)
        report.in_doubt_ran += sum(1 for t in doubt if t in runs)
        for tick in due:
            if tick not in runs and tick not in missed and tick not in skipped:
                report.fail("unreported_miss", name, tick, "neither ran nor recorded missed")
            if tick in runs and tick in missed and tick not in doubt:
                report.fail("ran_and_missed", name, tick, "ran, yet recorded as missed")
        for tick in sorted(doubt):
            # a tick that fell due while no clock was up (a total outage) is recorded
            # only when a clock comes back: a Redis crash before that can justify it
            recorded_ms = int(recs[tick].get("claimed_ms") or tick)
            if not during((tick, recorded_ms), timeline, settle_ms, LOSSY):
                report.fail("needless_doubt", name, tick, "in doubt, but no Redis fault near")
        prev = None
        for tick, attempts in sorted(by_tick.items()):
            first, last = attempts[0], attempts[-1]
            for r in attempts:
                all_fences[r["fence"]] += 1
            # the claims' grants (first attempts) rise in tick order; a later attempt's
            # fence, granted later, is above its claim's (and every other before it)
            claimed = first if first.get("attempt", 1) == 1 else None
            if claimed is not None:
                if prev is not None and claimed["fence"] <= prev["fence"]:
                    report.fail(
                        "fence_order",
                        name,
                        tick,
                        f"fence {claimed['fence']} after fence {prev['fence']} "
                        f"(tick {prev['tick']})",
                    )
                prev = claimed
            claim_fence = (recs.get(tick) or {}).get("claim_fence")
            if claim_fence is not None and any(
                r["fence"] <= claim_fence for r in attempts if r.get("attempt", 1) > 1
            ):
                report.fail("fence_order", name, tick, f"a later attempt at or below the claim's "
                            f"fence {claim_fence}: {attempts}")  # fmt: skip
            if any(b["fence"] <= a["fence"] for a, b in itertools.pairwise(attempts)):
                report.fail("fence_order", name, tick, f"attempts' fences do not rise: {attempts}")
            rec = recs.get(tick)
            if rec is None or rec.get("doubt"):
                report.records_lost += 1  # acknowledged, then lost in a Redis crash
            elif _mismatch(rec, last) and not (
                # with workers, a run released after Redis lost its outcome, or lost,
                # has a later attempt (or none) than the ledger's last
                (workers or name in RESUMABLE)
                and (rec.get("status") == "lost" or near_lossy_fault(tick, timeline, settle_ms))
            ):
                report.fail("record_mismatch", name, tick, f"record {rec}, last attempt {last}")
            cause = cause_of(tick, timeline, settle_ms)
            report.lateness.setdefault(cause, []).append(first["late"])
        for o in outages.get(name, []):
            _check_outage_record(report, sched, o, runs, recs)
    for fence, n in all_fences.items():
        if n > 1:
            report.fail("fence_reused", "*", 0, f"fence {fence} given to {n} runs")
    for e in timeline:
        if e["kind"] == "total_outage":
            _check_total_outage(report, schedules, e, timeline, outages, ledger, lease_ttl_s)
    if steps is not None:
        check_steps(
            report,
            steps=steps,
            records=records.get("batch", {}),
            timeline=timeline,
            total_steps=BATCH_STEPS,
        )
    return report


def pids_of(timeline: list[dict[str, Any]], kinds: tuple[str, ...]) -> set[int]:
    out: set[int] = set()
    for e in timeline:
        if e["kind"] in kinds:
            out.update(p for p in [e.get("pid"), *e.get("pids", [])] if p is not None)
    return out


# A crash loses the writes of up to about LOST_WINDOW_S before it (the AOF snapshot is
# up to 1.5 s old, plus the second `everysec` had not synced yet).
LOST_WINDOW_S = 3.5


def check_steps(
    report: Report,
    *,
    steps: list[dict[str, Any]],
    records: dict[int, dict[str, Any]],
    timeline: list[dict[str, Any]],
    total_steps: int,
    name: str = "batch",
) -> None:
    """A long job's steps, from its steps ledger. Between two attempts, the later one
    starts right after the earlier one's last saved step; it repeats the step that was
    in flight only when the earlier attempt was stopped hard (kill -9, a pause past its
    lease, the platform's SIGKILL) or a Redis crash lost its lease or record (a SIGTERM
    costs no step, and neither does Redis not answering: nobody died); it starts
    further back only when a Redis crash lost the saves after it. Every step
    of a run that ended ok ran and was saved; no attempt saves after a later one began."""
    hard = pids_of(timeline, HARD_FAULTS)
    crashes = [e["t_ms"] / 1000 for e in timeline if e["kind"] in LOSSY]
    # rows carry host time; a skewed process's is off by its skew ("+30s")
    skew_s = {
        e["pid"]: float(e["skew"].rstrip("s"))
        for e in timeline
        if e["kind"] == "spawn" and e.get("skew")
    }
    by_tick: dict[int, list[dict[str, Any]]] = {}
    for r in steps:
        r = {**r, "t": r["t"] - skew_s.get(r["pid"], 0.0)}
        by_tick.setdefault(r["tick"], []).append(r)
    for tick, rows in by_tick.items():
        started = [r for r in rows if r["kind"] == "step"]
        accepted = [r for r in rows if r["kind"] == "accepted"]
        attempts = sorted({r["attempt"] for r in started})
        first_t = {a: min(r["t"] for r in started if r["attempt"] == a) for a in attempts}
        excused_twice: set[int] = set()  # steps whose save a crash lost
        for a, b in itertools.pairwise(attempts):
            ran_a = {r["step"] for r in started if r["attempt"] == a}
            # saves a made after b began are zombie saves, judged below
            saved_a = [r for r in accepted if r["attempt"] == a and r["t"] <= first_t[b]]
            last_saved = max((r["step"] for r in saved_a), default=None)
            pid_a = next(r["pid"] for r in started if r["attempt"] == a)
            resumed_at = min(r["step"] for r in started if r["attempt"] == b)
            if resumed_at > 0:
                report.batch_resumed += 1
            if last_saved is not None and resumed_at <= last_saved:
                # it began before a's last save: that save (and those after resumed_at)
                # must have been lost with Redis
                lost = [r for r in saved_a if r["step"] >= resumed_at]
                t_save = min(r["t"] for r in lost)
                if any(t_save - 0.5 <= c <= t_save + LOST_WINDOW_S for c in crashes):
                    excused_twice.update(r["step"] for r in lost)
                    report.steps_repeated["Redis lost the saves"] += len(lost)
                else:
                    report.fail(
                        "progress_lost",
                        name,
                        tick,
                        f"attempt {b} began at step {resumed_at}, though attempt {a} had "
                        f"saved up to step {last_saved} and no Redis crash lost it",
                    )
                    continue
            in_flight = ran_a & {r["step"] for r in started if r["attempt"] == b}
            in_flight -= {r["step"] for r in saved_a}
            if in_flight:
                # a Redis crash around the step can lose the worker's lease or the run's
                # record: the run is redelivered as if its worker had died
                t_step = min(
                    r["t"] for r in started if r["attempt"] == a and r["step"] in in_flight
                )
                crashed = any(t_step - 0.5 <= c <= t_step + LOST_WINDOW_S for c in crashes)
                if pid_a in hard or crashed:
                    report.steps_repeated["Redis crash" if crashed else "hard stop"] += 1
                else:
                    report.fail(
                        "step_twice",
                        name,
                        tick,
                        f"step {sorted(in_flight)} of attempt {a} (pid {pid_a}) ran again "
                        "with no hard stop: a SIGTERM or a Redis stall must cost no step",
                    )
        saved = Counter(r["step"] for r in accepted)
        twice = [n for n, k in saved.items() if k > 1 and n not in excused_twice]
        if twice:
            report.fail("accepted_twice", name, tick, f"steps {twice} saved by two attempts")
        for r in accepted:
            later = [first_t[b] for b in attempts if b > r["attempt"]]
            if later and r["t"] > min(later):
                report.fail(
                    "zombie_save",
                    name,
                    tick,
                    f"attempt {r['attempt']} saved step {r['step']} after attempt "
                    f"{min(b for b in attempts if b > r['attempt'])} began",
                )
        rec = records.get(tick)
        if rec is not None and rec.get("status") == "ok":
            report.batch_ok += 1
            never = sorted(set(range(total_steps)) - {r["step"] for r in started})
            if never:
                report.fail("step_missing", name, tick, f"ended ok without steps {never}")
            # a process stopped hard between its save and its ledger row saved the step
            unsaved = [
                n
                for n in sorted({r["step"] for r in started} - {r["step"] for r in accepted})
                if not any(r["step"] == n and r["pid"] in hard for r in started)
            ]
            if unsaved:
                report.fail("step_unsaved", name, tick, f"ended ok, steps {unsaved} unsaved")


def _mismatch(rec: dict[str, Any], last: dict[str, Any]) -> bool:
    return rec.get("fence") != last["fence"] or rec.get("epoch") != last["epoch"]


def _check_second_runs(
    report: Report,
    name: str,
    tick: int,
    attempts: list[dict[str, Any]],
    faulted: set[Any],
    timeline: list[dict[str, Any]],
    settle_ms: int,
    workers: int,
) -> None:
    """A run executed more than once: only as distinct, later attempts, each after the
    one before it was on a worker that was killed, paused or stopped, or after Redis
    lost writes (a record released, its outcome gone) between the tick and the later
    attempt's start (a long run can be hit well after its tick). Each execution is its
    own grant (fence); an attempt number comes again only when Redis forgot the
    attempt that had it."""
    if not workers:
        pids = [r["pid"] for r in attempts]
        report.fail("duplicate", name, tick, f"dispatched {len(attempts)} times, by pids {pids}")
        return
    fences = [r["fence"] for r in attempts]
    if len(set(fences)) != len(fences):
        report.fail("duplicate", name, tick, f"one grant executed twice: {attempts}")
        return
    attempts = sorted(attempts, key=lambda r: float(r.get("late", 0)))
    for earlier, later in itertools.pairwise(attempts):
        began_ms = tick + int(float(later.get("late", 0)) * 1000)
        lossy = during((tick, began_ms), timeline, settle_ms, LOSSY)
        if later.get("attempt", 1) <= earlier.get("attempt", 1) and not lossy:
            report.fail(
                "duplicate",
                name,
                tick,
                f"attempt {later.get('attempt', 1)} came again (fences {earlier['fence']}, "
                f"{later['fence']}) with no Redis crash to forget the first",
            )
            continue
        if earlier["pid"] in faulted or lossy:
            report.second_runs += 1
            continue
        report.fail(
            "second_execution",
            name,
            tick,
            f"attempt {earlier.get('attempt')} on pid {earlier['pid']} ran again with no crash",
        )


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

"""Run the soak: python -m tests.chaos --minutes 30 --clocks 3 [--workers 3] [--seed N]

Prints the seed first; rerun with --seed to replay the same fault sequence. Exits 1
when an invariant breaks, printing the timeline around the first violation.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from lockclock.coordination.store import Store
from tests.chaos.checker import Report, Violation, check
from tests.chaos.platform import NAMESPACE, Platform, now_ms
from tests.chaos.schedules import schedules
from tests.support import read_ledger, wait_for


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m tests.chaos", description=__doc__)
    p.add_argument("--minutes", type=float, default=10.0, help="how long to inject faults")
    p.add_argument("--clocks", type=int, default=3, help="clock processes (dynos)")
    p.add_argument(
        "--workers",
        type=int,
        default=0,
        help="worker processes; with any, the clocks only enqueue (dispatch=workers)",
    )
    p.add_argument("--seed", type=int, default=None, help="replay a run (default: random)")
    p.add_argument("--lease", type=float, default=1.0, help="LOCKCLOCK_LEASE_TTL, seconds")
    p.add_argument(
        "--graces",
        default="30,10",
        help="platform grace periods to mix, seconds (Heroku today: 30; older: 10)",
    )
    p.add_argument("--compress", type=float, default=0.1, help="time factor for the graces")
    p.add_argument("--gap", default="2,6", help="seconds between faults: min,max")
    p.add_argument("--workdir", type=Path, default=None, help="keep logs here")
    return p.parse_args(argv)


def collect(platform: Platform) -> tuple[dict[str, Any], dict[str, Any]]:
    store = Store(platform.redis.client(), NAMESPACE)
    records: dict[str, dict[int, dict[str, Any]]] = {}
    outages: dict[str, list[dict[str, Any]]] = {}
    for name in schedules():
        records[name] = {t: r.to_json() for t, r in store.history.all_runs(name).items()}
        outages[name] = [o.to_json() for o in store.history.outages(name, 1000)]
    return records, outages


def print_report(report: Report, seed: int, faults: Counter, minutes: float) -> None:
    print(f"\nseed {seed}: {minutes:g} min, faults: {dict(sorted(faults.items()))}")
    print(f"{'schedule':<8} {'due':>6} {'ran':>6} {'missed':>7}")
    for name in report.due:
        print(f"{name:<8} {report.due[name]:>6} {report.ran[name]:>6} {report.missed[name]:>7}")
    print(f"total outages checked against their outage records: {report.outages_checked}")
    print(f"run records lost with Redis crashes (the job ran; its record did not survive): "
          f"{report.records_lost}")  # fmt: skip
    print(f"ticks recorded in doubt after Redis lost their claims: {report.in_doubt} "
          f"({report.in_doubt_ran} of them had run: not run twice)")  # fmt: skip
    print(f"ticks skipped by overlap: {report.skipped}; runs with more than one attempt: "
          f"{report.redelivered}; executed again after a crash: {report.second_runs}; "
          f"recorded lost: {report.lost}")  # fmt: skip
    print(f"long job: {report.batch_ok} runs ended ok, {report.batch_resumed} attempts resumed "
          f"from saved progress; steps run again: {dict(report.steps_repeated) or 0}")  # fmt: skip
    print(f"\n{'lateness by cause':<27} {'runs':>6} {'p50 s':>7} {'p99 s':>7} {'max s':>7}")
    for cause, n, p50, p99, worst in report.lateness_table():
        print(f"{cause:<27} {n:>6} {p50:>7.3f} {p99:>7.3f} {worst:>7.3f}")
    kinds = Counter(v.kind for v in report.violations)
    print(f"\nviolations: {sum(kinds.values())} {dict(kinds)}")


def print_timeline(v: Violation, timeline: list[dict[str, Any]], ledger: list[Any]) -> None:
    print(f"\nfirst violation: {v.kind} {v.schedule} tick {v.tick_ms}: {v.detail}")
    around = v.tick_ms or (timeline[0]["t_ms"] if timeline else 0)
    print("timeline (ms relative to the tick):")
    events = [(e["t_ms"], f"{e['kind']} {json.dumps(e)}") for e in timeline]
    events += [
        (
            r["tick"],
            f"run {r['schedule']} fence={r['fence']} epoch={r['epoch']} pid={r['pid']} "
            f"attempt={r.get('attempt', 1)}",
        )
        for r in ledger
        if r["schedule"] == v.schedule
    ]
    for t, text in sorted(events):
        if abs(t - around) <= 15_000:
            print(f"  {t - around:+7d} {text}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    seed = args.seed if args.seed is not None else random.randrange(1 << 31)
    print(f"seed {seed}", flush=True)
    rng = random.Random(seed)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix=f"chaos-{seed}-"))
    workdir.mkdir(parents=True, exist_ok=True)
    print(f"logs in {workdir}", flush=True)
    graces = tuple(float(g) * args.compress for g in args.graces.split(","))
    gap_lo, gap_hi = (float(x) for x in args.gap.split(","))
    platform = Platform(
        workdir, args.clocks, rng, lease_ttl_s=args.lease, graces_s=graces, workers=args.workers
    )
    faults: Counter = Counter()
    try:
        platform.start()
        wait_for(lambda: read_ledger(platform.ledger), 30, "the first run")
        start_ms = now_ms() + 1000
        deadline = time.monotonic() + args.minutes * 60
        cycle: list[str] = []
        while time.monotonic() < deadline:
            platform.sleep(rng.uniform(gap_lo, gap_hi))
            if not cycle:  # every kind of fault once per cycle, in a seeded order
                cycle = list(Platform.FAULTS)
                if args.workers:
                    cycle += Platform.WORKER_FAULTS
                rng.shuffle(cycle)
            kind = cycle.pop()
            print(time.strftime("%H:%M:%S"), kind, flush=True)
            platform.inject(kind)
            faults[kind] += 1
            platform.top_up()
        platform.note("faults_over")
        platform.top_up()
        platform.sleep(3 * args.lease + 8)  # let the last catch-up and slow jobs finish
        end_ms = now_ms() - int(3 * args.lease * 1000) - 2000
        platform.stop_all()
        records, outages = collect(platform)
        ledger = read_ledger(platform.ledger)
        report = check(
            schedules=schedules(),
            ledger=ledger,
            records=records,
            outages=outages,
            timeline=platform.timeline,
            start_ms=start_ms,
            end_ms=end_ms,
            lease_ttl_s=args.lease,
            workers=args.workers,
            steps=read_ledger(platform.steps_ledger),
        )
    finally:
        for d in platform.dynos:
            d.proc.ensure_dead()
        platform.redis.stop()
    print_report(report, seed, faults, args.minutes)
    if report.violations:
        print_timeline(report.violations[0], platform.timeline, ledger)
        print(f"\nFAILED: replay with: python -m tests.chaos --seed {seed} "
              f"--minutes {args.minutes:g} --clocks {args.clocks} "
              f"--workers {args.workers}")  # fmt: skip
        return 1
    print("OK: no duplicate, no unreported miss, fences strictly increasing")
    print("OK: every long-job step ran and was saved once; none repeated but after a hard stop")
    if args.workers:
        print("OK: every claimed run ended once; second executions only after a crash")
    return 0


if __name__ == "__main__":
    sys.exit(main())

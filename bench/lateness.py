"""Fire lateness with 2 clocks and a per-second schedule.

Lateness is measured twice: by Redis time at the claim (`late_ms` in the history)
and by the job itself (its start minus the tick, on this host's clock).

    python bench/lateness.py --seconds 60 --runs 3
"""

from __future__ import annotations

import argparse
import time

from _common import Rig, summary

from tests.support import read_ledger, wait_for


def one_run(seconds: float) -> tuple[list[float], list[float]]:
    rig = Rig().start(clocks=2)
    try:
        wait_for(lambda: read_ledger(rig.ledger), 15, "first run")
        time.sleep(seconds)
        rig.stop_clocks()
        return rig.lateness()
    finally:
        rig.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    all_claim: list[float] = []
    all_start: list[float] = []
    for i in range(args.runs):
        claim_ms, start_ms = one_run(args.seconds)
        print(f"run {i + 1}: claim lateness ms {summary(claim_ms)}")
        print(f"run {i + 1}: job start lateness ms {summary(start_ms)}")
        all_claim += claim_ms
        all_start += start_ms
    print(f"all runs: claim lateness ms (Redis time) {summary(all_claim)}")
    print(f"all runs: job start lateness ms (host time) {summary(all_start)}")


if __name__ == "__main__":
    main()

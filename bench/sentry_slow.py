"""Fire lateness with Sentry off (no SENTRY_DSN), healthy, slow (5 s per request) and
down (connection refused).

Two clocks of tests/apps/ledger_app.py report to a local stand-in for Sentry
(tests/sentry_receiver.py) while a per-second schedule fires. Each run starts as if the
clocks had been down, so the clock loop sends three missed-run events at take-over,
next to failure events, an overrun and minute-level check-ins from job threads. A
report that blocked the loop would show as lateness of `sec`.

    python bench/sentry_slow.py --seconds 20 --runs 3
"""

from __future__ import annotations

import argparse
import statistics
import time

from _common import Rig, percentile, summary

from lockclock.coordination.keys import Keys
from tests.sentry_receiver import SentryReceiver
from tests.support import free_port, read_ledger, wait_for

SCHEDULES = "sec,a_skip,a_latest,minutely,fail,overrun"


def one_run(state: str, seconds: float) -> tuple[list[float], list[float], int]:
    rig = Rig(schedules=SCHEDULES)
    with SentryReceiver(delay_s=5.0 if state == "slow" else 0.0) as sentry:
        try:
            rig.start(clocks=0)
            client = rig.redis.client()
            now_ms = int(time.time() * 1000)
            client.hset(
                Keys(rig.ns).hwm,
                mapping={"a_skip": now_ms - 10_000, "a_latest": now_ms - 10_000,
                         "minutely": now_ms - 180_000},
            )  # fmt: skip
            if state == "down":
                rig.extra["SENTRY_DSN"] = f"http://public@127.0.0.1:{free_port()}/1"
            elif state != "off":
                rig.extra["SENTRY_DSN"] = sentry.dsn
            rig.add_clock()
            rig.add_clock()
            wait_for(lambda: read_ledger(rig.ledger), 15, "first run")
            time.sleep(seconds)
            rig.stop_clocks(timeout=30)
            claim_ms, start_ms = rig.lateness()
            return claim_ms, start_ms, sentry.requests
        finally:
            rig.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--states", default="off,healthy,slow,down")
    args = ap.parse_args()
    for state in args.states.split(","):
        all_claim: list[float] = []
        all_start: list[float] = []
        per_run: list[tuple[float, float, float]] = []
        requests = []
        for _ in range(args.runs):
            claim_ms, start_ms, sent = one_run(state, args.seconds)
            all_claim += claim_ms
            all_start += start_ms
            requests.append(sent)
            per_run.append((percentile(start_ms, 50), percentile(start_ms, 99), max(start_ms)))
        p50, p99, worst = (statistics.median(v) for v in zip(*per_run, strict=True))
        print(
            f"sentry {state}: job start lateness ms, medians over {args.runs} runs: "
            f"p50={p50:.1f} p99={p99:.1f} max={worst:.1f}; requests Sentry saw per run: "
            f"{requests}"
        )
        print(f"sentry {state}: job start lateness ms, all runs {summary(all_start)}")
        print(f"sentry {state}: claim lateness ms (Redis time), all runs {summary(all_claim)}")


if __name__ == "__main__":
    main()

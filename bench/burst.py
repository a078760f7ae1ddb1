"""1,000 schedules due at the same instant: how late are the claims?

Two clocks run 1,000 schedules of `*/10 * * * * *` (every 10 s) for --seconds;
lateness is read from the run history (claim time minus tick, by Redis time).

    python bench/burst.py --seconds 35
"""

from __future__ import annotations

import argparse
import time

from _common import Rig, summary

from tests.support import history


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seconds", type=float, default=35)
    ap.add_argument("--schedules", type=int, default=1000)
    args = ap.parse_args()
    rig = Rig()
    rig.extra.update(MANY_SCHEDULES=str(args.schedules), MANY_CRON="*/10 * * * * *")
    rig.redis.start()
    try:
        for _ in range(2):
            rig.add_clock(target="tests.apps.many_app:clock")
        time.sleep(args.seconds)
        rig.stop_clocks(timeout=30)
        late: list[float] = []
        statuses: dict[str, int] = {}
        for i in range(args.schedules):
            for h in history(rig.redis.client(), rig.ns, f"s{i:04d}", 1000):
                late.append(float(h["late_ms"]))
                statuses[h["status"]] = statuses.get(h["status"], 0) + 1
        print(f"{args.schedules} schedules every 10 s, runs by outcome: {statuses}")
        print(f"claim lateness ms (Redis time) {summary(late)}")
    finally:
        rig.close()


if __name__ == "__main__":
    main()

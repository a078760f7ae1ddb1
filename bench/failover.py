"""Tick lateness and gap after the active clock is killed (-9) or stopped (SIGTERM).

Two clocks with the default lease (LOCKCLOCK_LEASE_TTL unset, 2 s) run a per-second
schedule. Each trial kills or stops the active clock at a random instant, starts
a replacement (as a platform would) and measures, from the ledger the jobs write:
the worst lateness of the ticks that fell due during the failover, and the longest
gap between consecutive job starts.

    python bench/failover.py --trials 5
"""

from __future__ import annotations

import argparse
import itertools
import random
import signal
import time

from _common import Rig, summary

from tests.support import active_pid, read_ledger, wait_for


def trial(rig: Rig, sig: int) -> tuple[float, float]:
    client = rig.redis.client()
    wait_for(lambda: active_pid(client, rig.ns), 10, "an active clock")
    time.sleep(random.uniform(2.0, 3.0))
    pid = active_pid(client, rig.ns)
    victim = next(p for p in rig.clocks if p.alive() and p.pid == pid)
    t_kill = time.time()
    victim.signal(sig)
    rig.add_clock()
    victim.wait(30)
    time.sleep(5)
    rows = sorted(read_ledger(rig.ledger), key=lambda r: r["tick"])
    around = [r for r in rows if t_kill - 2 <= r["tick"] / 1000 <= t_kill + 4]
    late = max((r["start"] - r["tick"] / 1000) * 1000 for r in around)
    starts = sorted(r["start"] for r in around)
    gap = max(b - a for a, b in itertools.pairwise(starts)) * 1000
    ticks = [r["tick"] for r in rows]
    assert len(ticks) == len(set(ticks)), "duplicate dispatch"
    assert all(b - a == 1000 for a, b in itertools.pairwise(ticks)), "missed tick"
    return late, gap


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--trials", type=int, default=5)
    ap.add_argument("--seed", type=int, default=None)
    args = ap.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    random.seed(seed)
    print(f"seed {seed}")
    for name, sig in (("kill -9", signal.SIGKILL), ("SIGTERM", signal.SIGTERM)):
        rig = Rig().start(clocks=2)
        try:
            wait_for(lambda rig=rig: read_ledger(rig.ledger), 15, "first run")
            results = [trial(rig, sig) for _ in range(args.trials)]
        finally:
            rig.close()
        print(f"{name}: worst tick lateness ms {summary([r[0] for r in results])}")
        print(f"{name}: longest gap between runs ms {summary([r[1] for r in results])}")


if __name__ == "__main__":
    main()

"""What a Redis crash or a replica failover costs in claims, and what reaches the jobs.

AOF crash: two clocks run a per-second schedule on a redis-server with AOF
`appendfsync everysec`. Each trial copies the AOF as it is on disk, waits about a
second (the writes an `everysec` fsync may not have reached), kills Redis with -9
and restarts it from the copy, as a host crash would leave it. Counted: claims
acknowledged and acted on but lost, and ticks dispatched twice afterwards. In the
second series the active clock is killed with -9 in the same instant (one host failure
taking both) and a replacement starts: counted also, the ticks recorded in doubt and
how many of them had in fact run.

Failover: a primary and a replica; one clock runs on the primary with
LOCKCLOCK_WAIT_REPLICAS=0 or 1. Each trial kills the primary with -9 at a random
instant and promotes the replica; in half the trials the replication link had been cut
1.5 s before, as a partition or a slow link leaves a replica behind. Counted: claims the
jobs saw that the promoted replica does not have; each could run again once clocks
restart on it.

    python bench/durability.py --trials 10
"""

from __future__ import annotations

import argparse
import random
import signal
import time

from _common import Rig

from lockclock.coordination.keys import Keys
from tests.support import (
    RedisServer,
    active_pid,
    free_port,
    read_ledger,
    wait_for,
)
from tests.support import history as rig_history


def crash_trials(trials: int, *, with_active: bool) -> None:
    rig = Rig(lease_ttl=1.0, aof=True).start(clocks=2)
    lost: list[int] = []
    gone: set[int] = set()  # lost in earlier trials
    try:
        wait_for(lambda: len(read_ledger(rig.ledger)) >= 3, 20, "first runs")
        for i in range(trials):
            time.sleep(random.uniform(2, 4))
            pid = wait_for(lambda: active_pid(rig.redis.client(), rig.ns), 10, "a holder")
            snap = rig.redis.snapshot_aof(rig.dir / f"snap{i}")
            time.sleep(random.uniform(0.5, 1.5))
            if with_active:
                [active] = [c for c in rig.clocks if c.alive() and c.pid == pid]
                active.signal(signal.SIGKILL)
            rig.redis.crash_to(snap)
            ran = {r["tick"] for r in read_ledger(rig.ledger)}
            kept = {int(t) for t in rig.redis.client().hkeys(Keys(rig.ns).runs("sec"))}
            lost.append(len(ran - kept - gone))
            gone |= ran - kept
            if with_active:
                rig.add_clock()  # the platform restarts it
        time.sleep(4)
        rig.stop_clocks()  # those killed are past signals and waits already
        history = rig_history(rig.redis.client(), rig.ns, "sec", 100_000)
    finally:
        rig.close()
    ticks = [r["tick"] for r in read_ledger(rig.ledger)]
    dups = len(ticks) - len(set(ticks))
    doubt = {h["tick"] for h in history if h.get("doubt")}
    lost.sort()
    what = "crash taking the active clock too" if with_active else "crash"
    print(
        f"AOF everysec {what}, {trials} trials: claims lost per crash "
        f"p50={lost[len(lost) // 2]} max={lost[-1]} total={sum(lost)}; "
        f"ticks dispatched twice: {dups}; recorded in doubt: {len(doubt)}, "
        f"of which had run: {len(doubt & set(ticks))}"
    )


def failover_trials(trials: int, wait_replicas: int, lag_s: float) -> None:
    lost: list[int] = []
    for _ in range(trials):
        rig = Rig(lease_ttl=1.0)
        replica = RedisServer(rig.dir / "replica", replica_of=rig.redis)
        rig.redis.start()
        replica.start()
        try:
            wait_for(
                lambda r=replica: r.client().info("replication")["master_link_status"] == "up",
                10,
                "the replica to sync",
            )
            rig.extra["LOCKCLOCK_WAIT_REPLICAS"] = str(wait_replicas)
            rig.add_clock()
            wait_for(lambda p=rig.ledger: len(read_ledger(p)) >= 3, 20, "first runs")
            time.sleep(random.uniform(1, 3))
            if lag_s:  # the link breaks (a partition, a slow network) just before
                replica.client().replicaof("127.0.0.1", str(free_port()))
                time.sleep(lag_s)
            rig.redis.stop(signal.SIGKILL)
            replica.client().replicaof("NO", "ONE")
            ran = {r["tick"] for r in read_ledger(rig.ledger)}
            kept = {int(t) for t in replica.client().hkeys(Keys(rig.ns).runs("sec"))}
            lost.append(len(ran - kept))
        finally:
            rig.close()
            replica.stop()
    lost.sort()
    print(
        f"replica failover, WAIT {wait_replicas}, link cut {lag_s:g} s before, {trials} trials: "
        f"claims lost per failover "
        f"p50={lost[len(lost) // 2]} max={lost[-1]} total={sum(lost)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=10)
    args = parser.parse_args()
    crash_trials(args.trials, with_active=False)
    crash_trials(args.trials, with_active=True)
    for lag_s in (0.0, 1.5):
        for wait in (0, 1):
            failover_trials(args.trials, wait_replicas=wait, lag_s=lag_s)


if __name__ == "__main__":
    main()

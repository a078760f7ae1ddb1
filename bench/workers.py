"""Workers (dispatch="workers"): how soon a claimed run starts on a worker, how soon a
killed worker's run starts elsewhere, and how many no-op runs 2 workers get through.

1. latency: 1 clock and 2 workers, a per-second schedule: from the tick, and from the
   claim (by Redis time), to the job's first line.
2. redelivery: a long run, its worker killed with -9 at a random moment; from the kill
   to the job's first line on another worker. Default worker lease (3 s).
3. throughput: --burst schedules fall due at once, every 10 s; runs per second from the
   burst's tick to the last run's end, through 2 workers of --concurrency each.

    python bench/workers.py --seconds 30 --trials 5 --burst 1000
"""

from __future__ import annotations

import argparse
import random
import signal
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from _common import percentile, summary

from lockclock.coordination.store import Store
from tests.support import ClockProcess, RedisServer, clock_env, read_ledger, wait_for


class Fleet:
    def __init__(self, **env: str) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="lockclock-bench-workers-"))
        self.redis = RedisServer(self.dir / "redis")
        self.ns = f"bench{uuid.uuid4().hex[:6]}"
        self.ledger = self.dir / "ledger.jsonl"
        self.env = {
            "LOCKCLOCK_DISPATCH": "workers",
            "WORKER_LEDGER": str(self.ledger),
            "WORKER_JOB_SECONDS": "0",
            "LEDGER_FILE": str(self.dir / "unused.jsonl"),
            **env,
        }
        self.procs: list[ClockProcess] = []
        self.redis.start()

    def spawn(self, target: str, command: str, *args: str) -> ClockProcess:
        env = clock_env(self.redis.url, self.ns, **self.env)
        log = self.dir / f"{command}{len(self.procs)}.log"
        p = ClockProcess(target, env, log, command=command, args=args).start()
        self.procs.append(p)
        return p

    def store(self) -> Store:
        return Store(self.redis.client(), self.ns)

    def close(self) -> None:
        for p in self.procs:
            p.ensure_dead()
        self.redis.stop()


def latency(seconds: float) -> tuple[list[float], list[float]]:
    fleet = Fleet(WORKER_SCHEDULES="sec")
    try:
        fleet.spawn("tests.apps.worker_app:clock", "worker")
        fleet.spawn("tests.apps.worker_app:clock", "worker")
        fleet.spawn("tests.apps.worker_app:clock", "run")
        wait_for(lambda: read_ledger(fleet.ledger), 20, "the first run")
        time.sleep(seconds)
        records = fleet.store().history.all_runs("sec")
        starts = [r for r in read_ledger(fleet.ledger) if r["kind"] == "start"]
        from_tick = [(r["t"] - r["tick"] / 1000) * 1000 for r in starts]
        from_claim = [
            r["t"] * 1000 - records[r["tick"]].claimed_ms for r in starts if r["tick"] in records
        ]
        return from_tick, from_claim
    finally:
        fleet.close()


def one_redelivery(rng: random.Random) -> float:
    fleet = Fleet(WORKER_SCHEDULES="long", WORKER_LONG_SECONDS="60")
    try:
        store = fleet.store()
        store.redis.hset(store.keys.hwm, "long", str(int(time.time() * 1000) - 3_600_000))
        workers = [fleet.spawn("tests.apps.worker_app:clock", "worker") for _ in range(2)]
        fleet.spawn("tests.apps.worker_app:clock", "run")
        first = wait_for(lambda: read_ledger(fleet.ledger), 20, "the long run to start")[0]
        time.sleep(rng.uniform(0.5, 3.0))  # a random moment in the worker's lease cycle
        victim = next(w for w in workers if w.pid == first["pid"])
        killed_at = time.time()
        victim.signal(signal.SIGKILL)

        def second() -> dict[str, Any] | None:
            rows = [r for r in read_ledger(fleet.ledger) if r["attempt"] == 2]
            return rows[0] if rows else None

        again = wait_for(second, 20, "the run on the other worker")
        return (float(again["t"]) - killed_at) * 1000
    finally:
        fleet.close()


def redelivery(trials: int, rng: random.Random) -> list[float]:
    return [one_redelivery(rng) for _ in range(trials)]


def throughput(schedules: int, concurrency: int, seconds: float) -> tuple[float, int, int]:
    fleet = Fleet(MANY_SCHEDULES=str(schedules), MANY_CRON="*/10 * * * * *")
    try:
        for _ in range(2):
            fleet.spawn("tests.apps.many_app:clock", "worker", "--concurrency", str(concurrency))
        fleet.spawn("tests.apps.many_app:clock", "run")
        time.sleep(seconds)
        store = fleet.store()
        by_tick: dict[int, list[int]] = {}
        done = 0
        for i in range(schedules):
            for rec in store.history.all_runs(f"s{i:04d}").values():
                if rec.status == "ok" and rec.finished_ms:
                    by_tick.setdefault(rec.tick, []).append(rec.finished_ms)
                    done += 1
        rates = [
            len(ends) / ((max(ends) - tick) / 1000)
            for tick, ends in by_tick.items()
            if len(ends) == schedules
        ]
        return (percentile(rates, 50) if rates else float("nan")), done, len(by_tick)
    finally:
        fleet.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--trials", type=int, default=5)
    ap.add_argument("--burst", type=int, default=1000)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--seed", type=int, default=None)
    args = ap.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(1 << 31)
    print(f"seed {seed}")
    from_tick, from_claim = latency(args.seconds)
    print(f"tick to the worker's first line, ms (host time) {summary(from_tick)}")
    print(f"claim to the worker's first line, ms {summary(from_claim)}")
    delays = redelivery(args.trials, random.Random(seed))
    print(f"kill -9 of a worker to its run's first line elsewhere, ms {summary(delays)}")
    rate, done, bursts = throughput(args.burst, args.concurrency, 35)
    print(
        f"{args.burst} no-op runs due at once, 2 workers x {args.concurrency}: "
        f"{rate:.0f} runs/s (median of {bursts} bursts, {done} runs)"
    )


if __name__ == "__main__":
    main()

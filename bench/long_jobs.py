"""Long jobs through restarts: how much work a SIGTERM or a kill -9 costs a job that
saves its progress after each step, and how soon it resumes elsewhere.

Each trial runs one job of --steps steps of --step-seconds each (tests/apps/worker_app.py
`steps`: check for a stop, write a ledger row, work, save the next step). At a random
step and a random instant within it, the process running it is stopped, as a platform
restart does: a replacement is already up (workers), or a standby waits (inline).

- workers, SIGTERM: 1 clock, the job's worker and a second one; the first gets SIGTERM.
- workers, kill -9: the same with SIGKILL (default worker lease, 3 s).
- inline, SIGTERM: 2 inline clocks; the active one, running the job, gets SIGTERM.
- inline, kill -9: the same with SIGKILL (default clock lease 2 s, worker lease 3 s).

Per trial: steps done twice (the work lost), steps never done, the time from the
signal to the resumed attempt's first step (host time, from the ledger), and from the
first attempt's recorded end (its hand-back; after a kill -9, when the reaper found it
dead) to the next attempt's start (Redis time, from the run record).

    python bench/long_jobs.py --trials 5
"""

from __future__ import annotations

import argparse
import random
import signal
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _common import summary

from lockclock.coordination.store import Store
from tests.support import ClockProcess, RedisServer, clock_env, read_ledger, wait_for

APP = "tests.apps.worker_app:clock"


@dataclass
class Trial:
    repeated: int  # steps started by two attempts
    missing: int  # steps no attempt started
    resume_ms: float  # from the signal to the next attempt's first step
    handoff_ms: float  # from the first attempt's end to the second's start (Redis time)
    attempts: int


class Rig:
    def __init__(self, *, dispatch: str, steps: int, step_s: float) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="lockclock-bench-long-"))
        self.redis = RedisServer(self.dir / "redis")
        self.ns = f"bench{uuid.uuid4().hex[:6]}"
        self.ledger = self.dir / "ledger.jsonl"
        self.env = {
            "LOCKCLOCK_DISPATCH": dispatch,
            "WORKER_LEDGER": str(self.ledger),
            "WORKER_SCHEDULES": "steps",
            "WORKER_STEPS": str(steps),
            "WORKER_STEP_SECONDS": str(step_s),
        }
        self.procs: list[ClockProcess] = []
        self.redis.start()
        store = self.store()
        store.redis.hset(store.keys.hwm, "steps", str(int(time.time() * 1000) - 3_600_000))

    def spawn(self, command: str) -> ClockProcess:
        env = clock_env(self.redis.url, self.ns, **self.env)
        log = self.dir / f"{command}{len(self.procs)}.log"
        p = ClockProcess(APP, env, log, command=command).start()
        self.procs.append(p)
        return p

    def store(self) -> Store:
        return Store(self.redis.client(), self.ns)

    def steps(self) -> list[dict[str, Any]]:
        return [r for r in read_ledger(self.ledger) if r["kind"] == "step"]

    def ended(self) -> bool:
        runs = self.store().history.all_runs("steps").values()
        return any(r.status == "ok" for r in runs)

    def close(self) -> None:
        for p in self.procs:
            p.ensure_dead()
        self.redis.stop()


def tally(values: list[int]) -> str:
    """`0 x4, 1 x1`: how many trials had each value."""
    return ", ".join(f"{v} x{n}" for v, n in sorted(Counter(values).items()))


def one_trial(
    dispatch: str, sig: signal.Signals, rng: random.Random, steps: int, step_s: float
) -> Trial:
    rig = Rig(dispatch=dispatch, steps=steps, step_s=step_s)
    try:
        if dispatch == "workers":
            procs = [rig.spawn("worker"), rig.spawn("worker")]
            rig.spawn("run")
        else:
            procs = [rig.spawn("run"), rig.spawn("run")]
        at = rng.randrange(2, steps - 3)
        wait_for(lambda: any(r["step"] >= at for r in rig.steps()), 60, f"step {at}")
        time.sleep(rng.uniform(0, step_s))  # anywhere within the step
        running = rig.steps()[-1]["pid"]
        victim = next(p for p in procs if p.pid == running)
        signalled = time.time()
        victim.signal(sig)

        def resumed() -> dict[str, Any] | None:
            later = [r for r in rig.steps() if r["attempt"] > 1]
            return later[0] if later else None

        first = wait_for(resumed, 30, "the resumed attempt")
        wait_for(rig.ended, steps * step_s + 30, "the run to end")
        (rec,) = [r for r in rig.store().history.all_runs("steps").values() if r.fence]
        tried = rec.attempt_list()
        counts = Counter(r["step"] for r in rig.steps())
        return Trial(
            repeated=sum(1 for n in counts.values() if n > 1),
            missing=steps - len(counts),
            resume_ms=(float(first["t"]) - signalled) * 1000,
            attempts=max(r["attempt"] for r in rig.steps()),
            handoff_ms=float(tried[1].started_ms - (tried[0].ended_ms or tried[0].started_ms)),
        )
    finally:
        rig.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--trials", type=int, default=5)
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--step-seconds", type=float, default=0.5)
    ap.add_argument("--seed", type=int, default=None)
    args = ap.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(1 << 31)
    print(f"seed {seed}; {args.trials} trials per row; {args.steps} steps of {args.step_seconds} s")
    rng = random.Random(seed)
    for dispatch in ("workers", "inline"):
        for sig in (signal.SIGTERM, signal.SIGKILL):
            trials = [
                one_trial(dispatch, sig, rng, args.steps, args.step_seconds)
                for _ in range(args.trials)
            ]
            name = "SIGTERM" if sig == signal.SIGTERM else "kill -9"
            repeated = [t.repeated for t in trials]
            print(
                f"{dispatch:<7} {name:<7}: steps done twice per stop: {tally(repeated)}; "
                f"steps never done: {sum(t.missing for t in trials)}; "
                f"attempts per run: {tally([t.attempts for t in trials])}"
            )
            print(f"{'':<16} signal to the resumed first step, ms "
                  f"{summary([t.resume_ms for t in trials])}")  # fmt: skip
            print(f"{'':<16} first attempt's end to the next one's start, ms "
                  f"{summary([t.handoff_ms for t in trials])}")  # fmt: skip


if __name__ == "__main__":
    main()

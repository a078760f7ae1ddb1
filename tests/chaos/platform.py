"""A dyno manager in miniature: N clock processes (and, with workers, M worker
processes), Redis, and the faults a platform and its network inflict on them. Every
action lands on a timeline the checker reads."""

from __future__ import annotations

import json
import random
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support import ClockProcess, RedisServer, active_pid, clock_env, skewed_env

NAMESPACE = "chaos"
TARGET = "tests.chaos.app:clock"


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass
class Dyno:
    name: str  # clock.1, worker.2, ... as `heroku ps` shows them
    proc: ClockProcess
    skew: str | None
    grace_s: float  # the platform's SIGTERM-to-SIGKILL grace for this process
    kill_at: float | None = None  # monotonic time of the platform's SIGKILL, once termed


@dataclass
class Platform:
    workdir: Path
    clocks: int
    rng: random.Random
    lease_ttl_s: float = 1.0
    graces_s: tuple[float, ...] = (3.0, 1.0)  # Heroku's 30 s and the older 10 s, x0.1
    skew_chance: float = 0.25
    workers: int = 0  # with workers the clocks only enqueue (dispatch="workers")
    worker_lease_s: float = 1.0
    dynos: list[Dyno] = field(default_factory=list)
    timeline: list[dict[str, Any]] = field(default_factory=list)
    spawned: int = 0

    def __post_init__(self) -> None:
        self.redis = RedisServer(self.workdir / "redis", aof=True)
        self.ledger = self.workdir / "ledger.jsonl"
        self.steps_ledger = self.workdir / "steps.jsonl"

    # -- bookkeeping ---------------------------------------------------------------------

    def note(self, kind: str, **fields: Any) -> dict[str, Any]:
        entry = {"t_ms": now_ms(), "kind": kind, **fields}
        self.timeline.append(entry)
        with open(self.workdir / "timeline.jsonl", "a") as f:
            f.write(json.dumps(entry) + "\n")
        return entry

    def done(self, entry: dict[str, Any]) -> None:
        entry["end_ms"] = now_ms()

    def start(self) -> None:
        self.redis.start()
        self.note("redis_started", port=self.redis.port)
        for i in range(self.clocks):
            self.spawn(f"clock.{i + 1}")
        for i in range(self.workers):
            self.spawn(f"worker.{i + 1}")

    def spawn(self, name: str) -> Dyno:
        skew = None
        if self.rng.random() < self.skew_chance:
            skew = self.rng.choice(["+30s", "-30s"])
        grace = self.rng.choice(self.graces_s)
        env = clock_env(
            self.redis.url,
            NAMESPACE,
            CHAOS_LEDGER=str(self.ledger),
            CHAOS_STEPS=str(self.steps_ledger),
            CHAOS_SLOW_MAX_S=str(max(self.graces_s) * 1.3),
            LOCKCLOCK_LEASE_TTL=str(self.lease_ttl_s),
            # lockclock's own grace sits inside the platform's, as the README advises
            LOCKCLOCK_GRACE=str(round(grace * 0.8, 2)),
            LOCKCLOCK_HISTORY="100000",
            LOCKCLOCK_DISPATCH="workers" if self.workers else "inline",
            LOCKCLOCK_WORKER_LEASE=str(self.worker_lease_s),
            **(skewed_env(skew) if skew else {}),
        )
        self.spawned += 1
        log = self.workdir / f"{name}-{self.spawned}.log"
        command = "worker" if name.startswith("worker.") else "run"
        proc = ClockProcess(TARGET, env, log, command=command).start()
        dyno = Dyno(name=name, proc=proc, skew=skew, grace_s=grace)
        self.dynos.append(dyno)
        self.note("spawn", dyno=name, pid=dyno.proc.pid, skew=skew, grace_s=grace)
        return dyno

    def up(self, kind: str = "clock") -> list[Dyno]:
        """Dynos of a kind the platform counts as running (not yet sent SIGTERM)."""
        return [
            d
            for d in self.dynos
            if d.kill_at is None and d.proc.alive() and d.name.startswith(kind + ".")
        ]

    def active(self) -> Dyno | None:
        try:
            pid = active_pid(self.redis.client(), NAMESPACE)
        except Exception:
            return None
        return next((d for d in self.up() if d.proc.pid == pid), None)

    def reap(self) -> None:
        """The platform's SIGKILL for processes still alive after their grace period."""
        for d in self.dynos:
            if d.kill_at is not None and d.proc.alive() and time.monotonic() >= d.kill_at:
                d.proc.signal(signal.SIGKILL)
                self.note("sigkill_after_grace", dyno=d.name, pid=d.proc.pid)
        self.dynos = [d for d in self.dynos if d.proc.alive()]

    def top_up(self) -> None:
        """Crashed dynos come back, as the platform restarts them."""
        names = {d.name for d in self.up("clock") + self.up("worker")}
        for kind, count in (("clock", self.clocks), ("worker", self.workers)):
            for i in range(count):
                if f"{kind}.{i + 1}" not in names:
                    self.spawn(f"{kind}.{i + 1}")

    def sleep(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.reap()
            time.sleep(min(0.1, max(end - time.monotonic(), 0)))

    # -- faults ----------------------------------------------------------------------------

    def daily_restart(self) -> None:
        """SIGTERM one dyno, start its replacement at once (they overlap), SIGKILL the old
        one if it is still running after the grace period."""
        up = self.up()
        if not up:
            return
        old = self.active() if self.rng.random() < 0.6 else None
        old = old or self.rng.choice(up)
        e = self.note(
            "daily_restart",
            dyno=old.name,
            pid=old.proc.pid,
            grace_s=old.grace_s,
            was_active=old is self.active(),
        )
        old.proc.signal(signal.SIGTERM)
        old.kill_at = time.monotonic() + old.grace_s
        self.spawn(old.name)
        self.done(e)

    def crash(self, *, active: bool) -> None:
        """kill -9 of the active clock or of a standby; the platform restarts it later."""
        act = self.active()
        if active:
            victim = act
        else:
            standbys = [d for d in self.up() if d is not act]
            victim = self.rng.choice(standbys) if standbys else None
        if victim is None:
            return
        e = self.note("kill_active" if active else "kill_standby", dyno=victim.name,
                      pid=victim.proc.pid)  # fmt: skip
        victim.proc.signal(signal.SIGKILL)
        victim.proc.wait(5)
        self.sleep(self.rng.uniform(0, 2))
        self.top_up()
        self.done(e)

    def pause_active(self) -> None:
        """SIGSTOP past the lease: the zombie must not dispatch or record when it wakes."""
        act = self.active()
        if act is None:
            return
        pause = self.lease_ttl_s * self.rng.uniform(1.5, 4)
        e = self.note("pause_active", dyno=act.name, pid=act.proc.pid, seconds=round(pause, 2))
        act.proc.signal(signal.SIGSTOP)
        self.sleep(pause)
        act.proc.signal(signal.SIGCONT)
        self.done(e)

    def redis_crash(self) -> None:
        """kill -9 Redis and restart it from the AOF as a host crash leaves it with
        `appendfsync everysec`: the last second of acknowledged writes is gone."""
        snap = self.redis.snapshot_aof(self.workdir / "aof-snapshot")
        lost_s = self.rng.uniform(0.5, 1.5)
        self.sleep(lost_s)
        e = self.note("redis_crash", lost_s=round(lost_s, 2))
        self.redis.crash_to(snap)
        self.done(e)

    def crash_with_active(self) -> None:
        """A host failure that takes Redis and the active clock at once: the clock dies
        with the claims Redis forgets, so no survivor knows whether those ticks ran."""
        act = self.active()
        snap = self.redis.snapshot_aof(self.workdir / "aof-snapshot")
        lost_s = self.rng.uniform(0.5, 1.5)
        self.sleep(lost_s)
        e = self.note(
            "crash_with_active",
            lost_s=round(lost_s, 2),
            dyno=act.name if act else None,
            pid=act.proc.pid if act else None,
        )
        if act is not None:
            act.proc.signal(signal.SIGKILL)
        self.redis.crash_to(snap)
        if act is not None:
            act.proc.wait(5)
        self.sleep(self.rng.uniform(0, 2))
        self.top_up()
        self.done(e)

    def redis_restart(self) -> None:
        """A clean restart (SIGTERM: the AOF is fsynced, nothing is lost)."""
        e = self.note("redis_restart")
        self.redis.stop()
        self.redis.start()
        self.done(e)

    def client_kill(self) -> None:
        e = self.note("client_kill")
        self.redis.client().execute_command("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes")
        self.done(e)

    def redis_unreachable(self) -> None:
        """Redis stops answering for longer than a lease (SIGSTOP: a partition)."""
        pause = self.lease_ttl_s * self.rng.uniform(2, 5)
        e = self.note("redis_unreachable", seconds=round(pause, 2))
        self.redis.signal(signal.SIGSTOP)
        self.sleep(pause)
        self.redis.signal(signal.SIGCONT)
        self.done(e)

    def total_outage(self) -> None:
        """Every clock down for several ticks, then back (workers stay up)."""
        pids = [d.proc.pid for d in self.dynos if d.proc.alive() and d.name.startswith("clock.")]
        e = self.note("total_outage", pids=pids)
        for d in self.dynos:
            if d.proc.alive() and d.name.startswith("clock."):
                d.proc.signal(signal.SIGKILL)
                d.proc.wait(5)
        self.dynos = [d for d in self.dynos if d.proc.alive()]
        self.sleep(self.rng.uniform(5, 12))
        self.note("outage_over")
        self.top_up()
        self.done(e)

    # -- worker faults (with --workers) ---------------------------------------------------

    def _busy_worker(self) -> Dyno | None:
        up = self.up("worker")
        return self.rng.choice(up) if up else None

    def kill_worker(self) -> None:
        """kill -9 of a worker, often mid-run; the platform restarts it 0-2 s later."""
        victim = self._busy_worker()
        if victim is None:
            return
        e = self.note("kill_worker", dyno=victim.name, pid=victim.proc.pid)
        victim.proc.signal(signal.SIGKILL)
        victim.proc.wait(5)
        self.sleep(self.rng.uniform(0, 2))
        self.top_up()
        self.done(e)

    def worker_restart(self) -> None:
        """A worker's daily restart: SIGTERM, its replacement started at once (the two
        overlap), SIGKILL after the grace if it is still running."""
        old = self._busy_worker()
        if old is None:
            return
        e = self.note("worker_restart", dyno=old.name, pid=old.proc.pid, grace_s=old.grace_s)
        old.proc.signal(signal.SIGTERM)
        old.kill_at = time.monotonic() + old.grace_s
        self.spawn(old.name)
        self.done(e)

    def pause_worker(self) -> None:
        """SIGSTOP of a worker past its lease: its runs go to others; the zombie's late
        writes must be refused when it wakes."""
        victim = self._busy_worker()
        if victim is None:
            return
        pause = self.worker_lease_s * self.rng.uniform(1.5, 4)
        e = self.note("pause_worker", dyno=victim.name, pid=victim.proc.pid,
                      seconds=round(pause, 2))  # fmt: skip
        victim.proc.signal(signal.SIGSTOP)
        self.sleep(pause)
        victim.proc.signal(signal.SIGCONT)
        self.done(e)

    WORKER_FAULTS = ("kill_worker", "worker_restart", "pause_worker")

    FAULTS = (
        "daily_restart",
        "daily_restart",
        "kill_active",
        "kill_standby",
        "pause_active",
        "redis_crash",
        "crash_with_active",
        "redis_restart",
        "client_kill",
        "redis_unreachable",
        "total_outage",
    )

    def inject(self, kind: str) -> None:
        if kind == "kill_active":
            self.crash(active=True)
        elif kind == "kill_standby":
            self.crash(active=False)
        else:
            getattr(self, kind)()

    def stop_all(self) -> None:
        """Clocks first (nothing more is claimed), then workers once they drained."""
        for kind in ("clock.", "worker."):
            group = [d for d in self.dynos if d.name.startswith(kind)]
            for d in group:
                if d.proc.alive():
                    d.proc.signal(signal.SIGCONT)  # a paused process must see its SIGTERM
                    d.proc.signal(signal.SIGTERM)
            for d in group:
                try:
                    d.proc.wait(max(self.graces_s) + 5)
                except Exception:
                    d.proc.ensure_dead()
            if kind == "clock." and self.workers:
                self.sleep(3 + 2 * self.worker_lease_s)  # the last runs end
        self.note("all_stopped")

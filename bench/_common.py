"""Shared set-up for the benchmarks: a real redis-server and real clock processes."""

from __future__ import annotations

import signal
import statistics
import sys
import tempfile
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support import (  # noqa: E402
    ClockProcess,
    RedisServer,
    clock_env,
    history,
    read_ledger,
)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    idx = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[idx]


def summary(values: list[float]) -> str:
    return (
        f"n={len(values)} p50={percentile(values, 50):.1f} p99={percentile(values, 99):.1f} "
        f"max={max(values):.1f} mean={statistics.fmean(values):.1f}"
    )


class Rig:
    """One redis-server plus clocks of tests/apps/ledger_app.py in a scratch directory."""

    def __init__(
        self, *, lease_ttl: float | None = None, schedules: str = "sec", aof: bool = False
    ) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="lockclock-bench-"))
        self.redis = RedisServer(self.dir / "redis", aof=aof)
        self.ns = f"bench{uuid.uuid4().hex[:6]}"
        self.ledger = self.dir / "ledger.jsonl"
        extra = {"LEDGER_FILE": str(self.ledger), "LEDGER_SCHEDULES": schedules}
        if lease_ttl is not None:
            extra["LOCKCLOCK_LEASE_TTL"] = str(lease_ttl)
        self.extra = extra
        self.clocks: list[ClockProcess] = []

    def start(self, clocks: int) -> Rig:
        self.redis.start()
        for _ in range(clocks):
            self.add_clock()
        return self

    def add_clock(self, target: str = "tests.apps.ledger_app:clock") -> ClockProcess:
        env = clock_env(self.redis.url, self.ns, **self.extra)
        p = ClockProcess(target, env, self.dir / f"c{len(self.clocks)}.log")
        self.clocks.append(p.start())
        return p

    def stop_clocks(self, timeout: float = 10) -> None:
        """SIGTERM every clock and wait for each to exit."""
        for p in self.clocks:
            p.signal(signal.SIGTERM)
        for p in self.clocks:
            p.wait(timeout)

    def lateness(self, schedule: str = "sec") -> tuple[list[float], list[float]]:
        """Milliseconds from tick to claim (Redis time, from the history) and from tick to
        the job's first line (host time, from the ledger); refuses a duplicate dispatch."""
        rows = [r for r in read_ledger(self.ledger) if r["schedule"] == schedule]
        assert len({r["tick"] for r in rows}) == len(rows), "duplicate dispatch"
        hist = history(self.redis.client(), self.ns, schedule, 100_000)
        claim_ms = [float(h["late_ms"]) for h in hist if h["status"] != "missed"]
        start_ms = [(r["start"] - r["tick"] / 1000) * 1000 for r in rows]
        return claim_ms, start_ms

    def close(self) -> None:
        for p in self.clocks:
            p.ensure_dead()
        self.redis.stop()

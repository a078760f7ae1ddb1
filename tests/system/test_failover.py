"""Several real clock processes on one real redis-server, under kill -9, SIGTERM and
SIGSTOP: every tick of a per-second schedule runs exactly once."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import redis

from tests.ledger import check_exactly_once
from tests.support import ClockProcess, active_pid, history, read_ledger, wait_for

LEASE_TTL = 1.0
# After a kill -9 a standby takes over within one lease plus its wait step (0.5 s).
MAX_LATE_S = LEASE_TTL + 1.5


def _active(procs: list[ClockProcess], client: redis.Redis, ns: str) -> ClockProcess:
    def find() -> ClockProcess | None:
        pid = active_pid(client, ns)
        return next((p for p in procs if p.alive() and p.pid == pid), None)

    return wait_for(find, 10, "an active clock")


@pytest.mark.serial
def test_exactly_once_through_kill_term_and_stop(
    spawn: Callable[..., ClockProcess], client: redis.Redis, namespace: str, tmp_path: Path
) -> None:
    procs = [spawn() for _ in range(3)]
    ledger_path = tmp_path / "ledger.jsonl"
    wait_for(lambda: len(read_ledger(ledger_path)) >= 3, 15, "the first runs")

    # crash the active clock; the platform starts a replacement
    victim = _active(procs, client, namespace)
    victim.signal(signal.SIGKILL)
    victim.wait(5)
    procs.append(spawn())
    time.sleep(4)

    # a restart: SIGTERM the active clock and start its replacement at once (overlap)
    leaving = _active(procs, client, namespace)
    t0 = time.monotonic()
    leaving.signal(signal.SIGTERM)
    procs.append(spawn())
    assert leaving.wait(5) == 0
    assert time.monotonic() - t0 < 2.0, "an idle clock must exit in under 2 s"
    assert leaving.events("lease_released"), leaving.log()
    time.sleep(4)

    # freeze the active clock past its lease, then let it run again as a zombie
    zombie = _active(procs, client, namespace)
    zombie.signal(signal.SIGSTOP)
    time.sleep(LEASE_TTL * 3)
    zombie.signal(signal.SIGCONT)
    time.sleep(4)
    assert zombie.events("lease_lost"), "the paused clock must notice it lost the lease"

    for p in procs:
        if p.alive():
            p.signal(signal.SIGTERM)
    for p in procs:
        if p.proc is not None and p.proc.returncode is None:
            assert p.wait(10) == 0

    rows = check_exactly_once(read_ledger(ledger_path), "sec", max_late_s=MAX_LATE_S)
    assert len(rows) >= 14
    assert len({r["pid"] for r in rows}) >= 3, "the work should have moved between clocks"

    # Redis's history agrees with what the jobs saw
    hist = {h["tick"]: h for h in history(client, namespace, "sec", 1000)}
    for r in rows:
        h = hist[r["tick"]]
        assert (h["fence"], h["status"]) == (r["fence"], "ok"), h
    assert not [h for h in hist.values() if h["status"] == "missed"]

    # the handoff after SIGTERM was immediate, through the release signal
    assert any("how=released" in ln for p in procs for ln in p.events("lease_acquired"))

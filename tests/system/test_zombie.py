"""A clock that wrongly believes it still holds the lease (its renewals never reach
Redis, as if paused between renewing and claiming) runs beside a real clock. Only
the claim script stands between it and a duplicate: it must be refused."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from lockclock.coordination.lease import Lease
from lockclock.coordination.store import Store
from lockclock.runtime.connection import connect
from lockclock.runtime.process import assemble_loop
from lockclock.settings import Settings
from tests.ledger import check_exactly_once
from tests.support import ClockProcess, RedisServer, read_ledger, wait_for


class BelievesItHoldsTheLease(Lease):
    def renew(
        self, clock_id: str, epoch: int, ttl_ms: int, *, worker_lease_ms: int = 0
    ) -> tuple[bool, int]:
        sec, usec = self.redis.time()
        return True, int(sec) * 1000 + int(usec) // 1000


def test_zombie_claims_are_refused(
    spawn: Callable[..., ClockProcess],
    redis_server: RedisServer,
    namespace: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    ledger = tmp_path / "ledger.jsonl"
    monkeypatch.setenv("LEDGER_FILE", str(ledger))
    monkeypatch.setenv("LEDGER_SCHEDULES", "sec")
    from tests.apps import ledger_app

    store = Store(connect(redis_server.url), namespace)
    store.lease = BelievesItHoldsTheLease(store.redis, store.keys)
    zombie = assemble_loop(
        schedules=ledger_app.clock.schedules,
        alerting={},
        store=store,
        blocking=connect(redis_server.url, socket_timeout=5, retries=0),
        settings=Settings(redis_url=redis_server.url, namespace=namespace, lease_ttl_s=1.0),
    )
    caplog.set_level(logging.INFO, logger="lockclock")
    thread = threading.Thread(target=zombie.run, daemon=True)
    thread.start()
    wait_for(lambda: zombie.leadership.active, 5, "the zombie to take the lease")
    real = spawn()  # its lease will lapse under the zombie: the real clock takes over
    wait_for(lambda: real.events("lease_acquired"), 10, "the real clock to take over")
    time.sleep(4)
    zombie.stop()
    thread.join(10)
    real.signal(15)
    assert real.wait(10) == 0

    refused = [r for r in caplog.records if r.getMessage() == "lease_lost"]
    assert refused, "the zombie should have tried to claim and been refused"
    rows = check_exactly_once(read_ledger(ledger), "sec", max_late_s=3.0)
    assert {r["pid"] for r in rows} >= {real.pid}

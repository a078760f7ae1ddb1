"""The scripts' floors: a Redis that lost writes cannot reissue an epoch or fence, and a
tick in doubt is recorded once and never run (scripts against a real redis-server)."""

from __future__ import annotations

from typing import Any

import redis

from lockclock.coordination.claims import ClaimRequest
from lockclock.coordination.lease import Acquired
from lockclock.coordination.store import Store
from tests.support import (
    TEST_POLICY,
    history,
)


def test_acquire_never_reissues_an_epoch_the_caller_has_seen(client: redis.Redis) -> None:
    store = Store(client, "floors-epoch")
    first = store.lease.acquire("a", 5000)
    assert first.epoch == 1
    client.delete(store.keys.epoch, store.keys.lease)  # the counter's writes were lost
    again = store.lease.acquire("b", 5000, epoch_floor=7)
    assert again.epoch == 8
    assert client.get(store.keys.epoch) == "8"


def test_claims_never_reissue_a_fence_the_caller_has_seen(client: redis.Redis) -> None:
    store = Store(client, "floors-fence")
    acq = store.lease.acquire("a", 5000)
    tick = int(client.time()[0]) * 1000 - 3000
    reg = store.schedules.register("a", acq.epoch, [("job", True)], tick_floors={"job": tick - 1})
    assert reg is not None
    req: dict[str, Any] = {"schedule": "job", "history_limit": 100, "policy": TEST_POLICY}
    [batch] = store.claims.claim_many("a", acq.epoch, [ClaimRequest(**req, items=[(tick, "run")])])
    assert batch.results[0].fence == 1
    client.delete(store.keys.fence)
    [batch] = store.claims.claim_many(
        "a", acq.epoch, [ClaimRequest(**req, items=[(tick + 500, "run")])], fence_floor=41
    )
    assert batch.results[0].fence == 42
    [batch] = store.claims.claim_many(
        "a", acq.epoch, [ClaimRequest(**req, items=[(tick + 600, "run")])], fence_floor=42
    )
    assert batch.results[0].fence == 43


def test_register_restores_marks_and_fence_from_floors(client: redis.Redis) -> None:
    store = Store(client, "floors-register")
    acq = store.lease.acquire("a", 5000)
    reg = store.schedules.register(
        "a",
        acq.epoch,
        [("known", True), ("fresh", True), ("paused", False)],
        fence_floor=99,
        tick_floors={"known": 1_000_000, "paused": 2_000_000},
    )
    assert reg is not None
    now_ms, marks = reg.now_ms, reg.marks
    assert marks["known"] == 1_000_000  # ticks after it are caught up, not skipped
    assert marks["fresh"] >= now_ms - 5  # no floor: starts now, as before
    assert marks["paused"] >= now_ms - 5  # paused schedules report nothing missed
    assert client.get(store.keys.fence) == "99"
    # a floor never lowers what Redis has
    reg = store.schedules.register("a", acq.epoch, [("known", True)], tick_floors={"known": 5})
    assert reg is not None
    assert reg.marks["known"] == 1_000_000


def test_a_tick_in_doubt_is_recorded_once_and_never_run(client: redis.Redis) -> None:
    store = Store(client, "floors-doubt")
    acq = store.lease.acquire("a", 5000)
    assert isinstance(acq, Acquired)
    tick = int(client.time()[0]) * 1000 - 3000
    reg = store.schedules.register("a", acq.epoch, [("job", True)], tick_floors={"job": tick - 1})
    assert reg is not None
    req: dict[str, Any] = {"schedule": "job", "history_limit": 100, "policy": TEST_POLICY}
    items = [(tick, "doubt"), (tick + 1000, "run")]
    for _ in range(2):  # a retried call is answered as the first
        [batch] = store.claims.claim_many("a", acq.epoch, [ClaimRequest(**req, items=items)])
        assert [(r.status, r.fence) for r in batch.results] == [("missed", 0), ("run", 1)]
    [record] = [h for h in history(client, store.ns, "job") if h["tick"] == tick]
    assert (record["status"], record["doubt"]) == ("missed", True)
    assert "fence" not in record

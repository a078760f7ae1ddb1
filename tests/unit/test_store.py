"""The Redis scripts against a real redis-server: the safety rules, one by one."""

from __future__ import annotations

import time

import pytest
import redis

from lockclock.coordination.claims import ClaimRequest
from lockclock.coordination.keys import LAYOUT_VERSION
from lockclock.coordination.lease import Acquired, Held, LayoutRefused
from lockclock.coordination.store import Store
from lockclock.runtime.connection import connect
from tests.support import TEST_POLICY, RedisServer, history


@pytest.fixture
def store(redis_server: RedisServer, namespace: str) -> Store:
    return Store(connect(redis_server.url, socket_timeout=2), namespace)


def now_ms(client: redis.Redis) -> int:
    sec, usec = client.time()
    return int(sec) * 1000 + int(usec) // 1000


def claim(store: Store, clock: str, epoch: int, schedule: str, *items: tuple[int, str]):
    return store.claims.claim_many(
        clock,
        epoch,
        [ClaimRequest(schedule=schedule, items=list(items), history_limit=100, policy=TEST_POLICY)],
    )[0]


def test_lease_is_exclusive_and_epochs_increase(store: Store) -> None:
    a = store.lease.acquire("a", 2000)
    assert isinstance(a, Acquired)
    b = store.lease.acquire("b", 2000)
    assert isinstance(b, Held) and b.holder == "a" and 0 < b.pttl_ms <= 2000
    # a retried acquire by the holder is answered with the same epoch
    again = store.lease.acquire("a", 2000)
    assert isinstance(again, Acquired) and again.epoch == a.epoch
    assert store.lease.release("a", a.epoch)
    b2 = store.lease.acquire("b", 2000)
    assert isinstance(b2, Acquired) and b2.epoch == a.epoch + 1
    assert b2.prev_clock == "a" and b2.prev_released_ms > 0


def test_renew_refused_after_lapse(store: Store) -> None:
    a = store.lease.acquire("a", 500)
    assert isinstance(a, Acquired)
    assert store.lease.renew("a", a.epoch, 500)[0]
    time.sleep(0.7)
    b = store.lease.acquire("b", 500)
    assert isinstance(b, Acquired)
    assert store.lease.renew("a", a.epoch, 500)[0] is False
    assert store.lease.release("a", a.epoch) is False


def test_release_wakes_a_waiter(store: Store, redis_server: RedisServer) -> None:
    a = store.lease.acquire("a", 10_000)
    assert isinstance(a, Acquired)
    blocking = connect(redis_server.url, socket_timeout=5, retries=0)
    store.lease.release("a", a.epoch)
    t0 = time.monotonic()
    assert store.lease.wait_for_release(blocking, 3.0)
    assert time.monotonic() - t0 < 0.5


def test_claim_once_then_dup_and_stale(store: Store, client: redis.Redis) -> None:
    a = store.lease.acquire("a", 5000)
    assert isinstance(a, Acquired)
    tick = now_ms(client) // 1000 * 1000
    first = claim(store, "a", a.epoch, "s", (tick, "run"))
    assert [(r.status, r.fence > 0) for r in first.results] == [("run", True)]
    # a retried call by the same holder gets the same answer and fence
    retry = claim(store, "a", a.epoch, "s", (tick, "run"))
    assert retry.results[0].status == "run" and retry.results[0].fence == first.results[0].fence
    # another epoch (a stale holder) is refused before anything is written
    stale = claim(store, "a", a.epoch - 1, "s", (tick + 1000, "run"))
    assert stale.stale
    store.lease.release("a", a.epoch)
    b = store.lease.acquire("b", 5000)
    assert isinstance(b, Acquired)
    dup = claim(store, "b", b.epoch, "s", (tick, "run"))
    assert dup.results[0].status == "dup"
    old = claim(store, "b", b.epoch, "s", (tick - 1000, "run"))
    assert old.results[0].status == "old"


def test_claim_refuses_future_ticks_by_redis_time(store: Store, client: redis.Redis) -> None:
    a = store.lease.acquire("a", 5000)
    assert isinstance(a, Acquired)
    future = now_ms(client) + 60_000
    res = claim(store, "a", a.epoch, "s", (future, "run"))
    assert res.results[0].status == "early"
    assert history(client, store.ns, "s") == []


def test_fences_strictly_increase_across_schedules_and_epochs(
    store: Store, client: redis.Redis
) -> None:
    base = now_ms(client) // 1000 * 1000 - 20_000
    fences = []
    for i in range(4):
        acq = store.lease.acquire(f"c{i}", 5000)
        assert isinstance(acq, Acquired)
        for name in ("x", "y"):
            r = claim(store, f"c{i}", acq.epoch, name, (base + i * 1000, "run"))
            fences.append(r.results[0].fence)
        store.lease.release(f"c{i}", acq.epoch)
    assert fences == sorted(fences) and len(set(fences)) == len(fences)


def test_missed_ticks_are_recorded_without_fence(store: Store, client: redis.Redis) -> None:
    a = store.lease.acquire("a", 5000)
    assert isinstance(a, Acquired)
    base = now_ms(client) // 1000 * 1000 - 10_000
    res = claim(store, "a", a.epoch, "s", (base, "missed"), (base + 1000, "run"))
    assert [r.status for r in res.results] == ["missed", "run"]
    hist = history(client, store.ns, "s")
    assert [(h["tick"], h["status"]) for h in hist] == [(base + 1000, "running"), (base, "missed")]
    assert "fence" not in hist[1]


def test_history_is_capped(store: Store, client: redis.Redis) -> None:
    a = store.lease.acquire("a", 5000)
    assert isinstance(a, Acquired)
    base = now_ms(client) // 1000 * 1000 - 200_000
    items = [(base + i * 1000, "missed") for i in range(150)]
    request = ClaimRequest(schedule="s", items=items, history_limit=100, policy=TEST_POLICY)  # type: ignore[arg-type]
    res = store.claims.claim_many("a", a.epoch, [request])[0]
    assert len(res.results) == 150
    assert client.zcard(store.keys.ticks("s")) == 100
    assert client.hlen(store.keys.runs("s")) == 100
    assert history(client, store.ns, "s", 1)[0]["tick"] == base + 149_000
    # the trimmed ticks stay protected by the high-water mark
    assert claim(store, "a", a.epoch, "s", (base, "run")).results[0].status == "old"


def test_scripts_survive_script_flush(store: Store, client: redis.Redis) -> None:
    a = store.lease.acquire("a", 5000)
    assert isinstance(a, Acquired)
    client.script_flush()
    tick = now_ms(client) // 1000 * 1000
    assert claim(store, "a", a.epoch, "s", (tick, "run")).results[0].status == "run"


def test_every_key_of_a_namespace_shares_one_hash_slot(store: Store, client: redis.Redis) -> None:
    a = store.lease.acquire("a", 5000)
    assert isinstance(a, Acquired)
    tick = now_ms(client) // 1000 * 1000
    claim(store, "a", a.epoch, "some.job", (tick, "run"))
    keys = client.keys(f"*{store.ns}*")
    assert len(keys) >= 6 and all(k.startswith("{" + store.ns + "}:") for k in keys)
    assert client.get(store.keys.layout) == LAYOUT_VERSION


def test_acquire_and_claim_refuse_a_layout_they_do_not_know(
    store: Store, client: redis.Redis
) -> None:
    a = store.lease.acquire("a", 5000)
    assert isinstance(a, Acquired)
    client.set(store.keys.layout, "3")  # a later lockclock took the namespace over
    tick = now_ms(client) // 1000 * 1000
    refused = claim(store, "a", a.epoch, "s", (tick, "run"))
    assert refused.layout == "3" and refused.results == []
    assert client.hlen(store.keys.runs("s")) == 0  # nothing written
    store.lease.release("a", a.epoch)
    assert store.lease.acquire("b", 5000) == LayoutRefused(found="3")
    assert not client.exists(store.keys.lease)

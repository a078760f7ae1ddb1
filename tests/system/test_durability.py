"""What Redis can lose, and what the clocks' floors restore.

A host crash with `appendfsync everysec` loses the last second of acknowledged writes;
a flush or an empty replacement server loses everything. Either way a claim the clocks
acted on can vanish, and with it the fence counter and high-water marks. The clock
that was active remembers the highest epoch, fence and ticks it saw, and hands them
back to Redis; standbys hold off for one lease when the server changes, so that clock
gets the chance.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from lockclock.coordination.store import Store
from tests.ledger import ticks_of
from tests.sentry_receiver import SentryReceiver
from tests.support import (
    ClockProcess,
    RedisServer,
    active_pid,
    clock_env,
    history,
    read_ledger,
    standby_pids,
    wait_for,
)

# -- real clocks, real data loss -------------------------------------------------------------


@pytest.fixture
def aof_redis(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path / "redis", aof=True)
    server.start()
    yield server
    server.stop(signal.SIGKILL)


def _clocks(
    server: RedisServer, namespace: str, tmp_path: Path, n: int, first: int = 0, **extra: str
) -> list[ClockProcess]:
    env = clock_env(
        server.url,
        namespace,
        LEDGER_FILE=str(tmp_path / "ledger.jsonl"),
        LEDGER_SCHEDULES="sec",
        LOCKCLOCK_LEASE_TTL="1",
        **extra,
    )
    return [
        ClockProcess("tests.apps.ledger_app:clock", env, tmp_path / f"clock{i}.log").start()
        for i in range(first, first + n)
    ]


def _stop(clocks: list[ClockProcess]) -> None:
    for c in clocks:
        c.signal(signal.SIGTERM)
    for c in clocks:
        try:
            c.wait(10)
        finally:
            c.ensure_dead()


def _check_ledger(ledger: list[dict[str, object]], records: dict[int, dict[str, object]]) -> None:
    """No tick twice, fences strictly increasing, and every tick run or recorded missed."""
    rows = ticks_of(ledger, "sec")
    ticks = [int(str(r["tick"])) for r in rows]
    assert len(ticks) == len(set(ticks)), "a tick was dispatched twice"
    fences = [int(str(r["fence"])) for r in rows]
    assert fences == sorted(fences) and len(set(fences)) == len(fences), fences
    missed = {t for t, rec in records.items() if rec["status"] == "missed"}
    for tick in range(ticks[0], ticks[-1], 1000):
        assert tick in ticks or tick in missed, f"tick {tick} neither ran nor was recorded"


def test_host_crash_losing_the_last_second_dispatches_nothing_twice(
    aof_redis: RedisServer, namespace: str, tmp_path: Path
) -> None:
    clocks = _clocks(aof_redis, namespace, tmp_path, 2)
    ledger_path = tmp_path / "ledger.jsonl"
    client = aof_redis.client()
    store = Store(client, namespace)
    lost_claims = 0
    try:
        wait_for(lambda: len(read_ledger(ledger_path)) >= 3, 15, "first runs")
        for round_ in range(3):
            snapshot = aof_redis.snapshot_aof(tmp_path / f"aof-{round_}")
            time.sleep(1.5)  # these claims are acknowledged, acted on, then lost
            ran = {r["tick"] for r in read_ledger(ledger_path)}
            aof_redis.crash_to(snapshot)
            client = aof_redis.client()
            store = Store(client, namespace)
            kept = {int(t) for t in client.hkeys(store.keys.runs("sec"))}
            lost_claims += len(ran - kept)
            want = len(ran) + 4

            def caught_up(want: int = want) -> bool:
                return len(read_ledger(ledger_path)) >= want

            wait_for(caught_up, 15, "runs after the restart")
    finally:
        _stop(clocks)
    assert lost_claims >= 3, "the crash lost no claims: the test proves nothing"
    records = {int(h["tick"]): h for h in history(store.redis, store.ns, "sec", 1000)}
    _check_ledger(read_ledger(ledger_path), records)
    changed = [ln for c in clocks for ln in c.events("redis_server_changed")]
    assert changed, "no clock noticed the restarted server"


@pytest.mark.parametrize("taken_over_by", ["the standby", "a fresh replacement"])
def test_the_active_clock_dying_with_redis_runs_nothing_twice(
    aof_redis: RedisServer,
    namespace: str,
    tmp_path: Path,
    sentry: SentryReceiver,
    taken_over_by: str,
) -> None:
    """Nobody alive knows what the dead clock ran in the second Redis forgot: those
    ticks are recorded in doubt, never run again, fences step over the lost ones, and
    Sentry hears of it."""
    clocks = _clocks(aof_redis, namespace, tmp_path, 2, SENTRY_DSN=sentry.dsn)
    ledger_path = tmp_path / "ledger.jsonl"
    client = aof_redis.client()
    try:
        wait_for(lambda: len(read_ledger(ledger_path)) >= 3, 15, "first runs")
        pid = wait_for(lambda: active_pid(client, namespace), 5, "an active clock")
        [active] = [c for c in clocks if c.pid == pid]
        [standby] = [c for c in clocks if c is not active]
        snapshot = aof_redis.snapshot_aof(tmp_path / "aof")
        time.sleep(1.5)  # the active clock's claims now are acknowledged, acted on, lost
        active.signal(signal.SIGKILL)
        aof_redis.crash_to(snapshot)
        if taken_over_by == "a fresh replacement":
            standby.signal(signal.SIGKILL)
            clocks += _clocks(aof_redis, namespace, tmp_path, 1, first=2, SENTRY_DSN=sentry.dsn)
        ran = {r["tick"]: r for r in ticks_of(read_ledger(ledger_path), "sec")}
        client = aof_redis.client()
        store = Store(client, namespace)
        lost = sorted(set(ran) - {int(t) for t in client.hkeys(store.keys.runs("sec"))})
        wait_for(lambda: len(read_ledger(ledger_path)) >= len(ran) + 4, 20, "runs again")
        sentry.wait(lambda s: s.events("missed-runs"), 10, "the missed-run event")
    finally:
        _stop(clocks)  # a killed clock ignores the SIGTERM and waits no time
    assert lost, "the crash lost no claims: the test proves nothing"
    records = {int(h["tick"]): h for h in history(store.redis, store.ns, "sec", 1000)}
    _check_ledger(read_ledger(ledger_path), records)  # no tick twice, no fence reused
    assert all(records[t].get("doubt") for t in lost), [records.get(t) for t in lost]
    doubtful = [t for t, h in records.items() if h.get("doubt")]
    assert max(doubtful) - min(doubtful) < 5000, doubtful  # the lost second and restart
    [taker] = [c for c in clocks if c.events("ticks_in_doubt")]
    assert taker is (standby if taken_over_by == "the standby" else clocks[-1])
    [event] = sentry.events("missed-runs")
    window = event["contexts"]["missed_runs"]
    assert window["in_doubt"] == len(doubtful) and window["in_doubt_until"]
    assert f"{len(doubtful)} of them may have run" in event["message"]
    assert window["previous_clock"].split(":")[1] == str(active.pid)


def test_flushed_redis_restarts_nothing_and_fences_keep_rising(
    aof_redis: RedisServer, namespace: str, tmp_path: Path
) -> None:
    clocks = _clocks(aof_redis, namespace, tmp_path, 2)
    ledger_path = tmp_path / "ledger.jsonl"
    client = aof_redis.client()
    try:
        wait_for(lambda: len(read_ledger(ledger_path)) >= 4, 15, "first runs")
        # both clocks must have seen the data before it goes: a clock whose first look
        # comes after the flush cannot tell it from a new namespace (README: durability)
        wait_for(lambda: standby_pids(client, namespace), 15, "the standby's heartbeat")
        before = len(read_ledger(ledger_path))
        client.flushall()
        wait_for(lambda: len(read_ledger(ledger_path)) >= before + 5, 15, "runs after flush")
    finally:
        _stop(clocks)
    store = Store(client, namespace)
    records = {int(h["tick"]): h for h in history(store.redis, store.ns, "sec", 1000)}
    ledger = read_ledger(ledger_path)
    after = [r for r in ticks_of(ledger, "sec") if r["tick"] >= min(records)]
    _check_ledger(after, records)
    fences = [r["fence"] for r in ticks_of(ledger, "sec")]
    assert fences == sorted(fences) and len(set(fences)) == len(fences), fences
    changed = [ln for c in clocks for ln in c.events("redis_server_changed")]
    assert changed, "no clock noticed the lost data"


def test_claims_wait_for_a_replica_and_go_on_without_one(
    redis_server: RedisServer, namespace: str, tmp_path: Path
) -> None:
    replica = RedisServer(tmp_path / "replica", replica_of=redis_server)
    replica.start()
    wait_for(
        lambda: replica.client().info("replication")["master_link_status"] == "up",
        10,
        "the replica to sync",
    )
    clocks = _clocks(redis_server, namespace, tmp_path, 1, LOCKCLOCK_WAIT_REPLICAS="1")
    ledger_path = tmp_path / "ledger.jsonl"
    try:
        wait_for(lambda: len(read_ledger(ledger_path)) >= 3, 15, "runs with a replica")
        store = Store(replica.client(), namespace)
        # what the job saw is already on the replica
        last = ticks_of(read_ledger(ledger_path), "sec")[-1]["tick"]
        assert replica.client().hexists(store.keys.runs("sec"), str(last))
        assert not clocks[0].events("claims_not_replicated")
        replica.stop(signal.SIGKILL)
        n = len(read_ledger(ledger_path))
        wait_for(lambda: len(read_ledger(ledger_path)) >= n + 3, 15, "runs without a replica")
    finally:
        _stop(clocks)
        replica.stop()
    assert clocks[0].events("claims_not_replicated")
    late = [r["late"] for r in ticks_of(read_ledger(ledger_path), "sec")]
    assert max(late) < 0.6, late  # waiting is bounded by a quarter lease

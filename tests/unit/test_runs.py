"""A run's life in the scripts, against a real redis-server: enqueued with its claim,
started by one worker, ended once under its fence, handed on when its worker dies.
(The same with real worker processes and real kills is tests/system/test_workers.py.)"""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import redis

from lockclock.context import RunContext, tick_datetime
from lockclock.coordination.claims import ClaimBatch, ClaimRequest
from lockclock.coordination.lease import Acquired
from lockclock.coordination.records import RunPolicy, RunRecord
from lockclock.coordination.runs import GROUP, Delivery, Started
from lockclock.coordination.store import Store
from lockclock.coordination.workers import WorkerInfo
from lockclock.execution.control import AttemptControl
from lockclock.hooks import Hooks
from lockclock.options import make_schedule
from lockclock.runtime.connection import connect
from tests.support import RedisServer

QUEUE = "default"


# The worker lease the reaper judges by in these tests: the short-lived workers' own.
LEASE_MS = 200


@pytest.fixture
def store(redis_server: RedisServer, namespace: str) -> Store:
    s = Store(connect(redis_server.url, socket_timeout=2), namespace)
    s.runs.ensure_groups([QUEUE])
    reachable_all_along(s)
    return s


def reachable_all_along(store: Store) -> None:
    """As if lease calls and beats had reached Redis without a gap until now."""
    store.redis.set(store.keys.reachable_seen, now_ms(store.redis))
    store.redis.delete(store.keys.reachable_since)


@pytest.fixture
def blocking(redis_server: RedisServer) -> redis.Redis:
    return connect(redis_server.url, socket_timeout=3, retries=0)


def now_ms(client: redis.Redis) -> int:
    sec, usec = client.time()
    return int(sec) * 1000 + int(usec) // 1000


def policy(**kw: Any) -> RunPolicy:
    base: dict[str, Any] = {
        "mode": "workers",
        "queue": QUEUE,
        "overlap": "allow",
        "max_deliveries": 3,
        "max_late_ms": 3_600_000,
        "retries": 0,
        "retry_backoff_ms": 100,
    }
    return RunPolicy(**{**base, **kw})


class Clock:
    """Holds the lease and claims, as a clock's dispatcher would."""

    def __init__(self, store: Store) -> None:
        self.store = store
        acq = store.lease.acquire("clock-a", 60_000)
        assert isinstance(acq, Acquired)
        self.epoch = acq.epoch

    def claim(self, *items: tuple[int, str], worker: str = "", **pol: Any) -> ClaimBatch:
        req = ClaimRequest(
            schedule="s",
            items=list(items),  # type: ignore[arg-type]
            history_limit=100,
            policy=policy(**pol),
            worker=worker,
        )
        return self.store.claims.claim_many("clock-a", self.epoch, [req])[0]


def register(store: Store, worker: str, ttl_ms: int = 60_000) -> None:
    info = WorkerInfo(
        id=worker, host="h", pid=1, queues=[QUEUE], concurrency=4, running=0, started_ms=0
    )
    assert store.workers.beat(info, ttl_ms, register=True)[0]


def read_one(store: Store, blocking: redis.Redis, worker: str) -> Delivery:
    (d,) = store.runs.read(blocking, worker, [QUEUE], count=1, block_ms=500)
    return d


def record(store: Store, tick: int) -> RunRecord:
    raw = store.redis.hget(store.keys.runs("s"), str(tick))
    assert raw
    return RunRecord.from_json(raw)


def finish(store: Store, worker: str, tick: int, fence: int, status: str = "ok") -> str:
    return store.runs.finish(
        worker, schedule="s", queue=QUEUE, tick_ms=tick, fence=fence, fields={"status": status}
    ).result


def stream_len(store: Store) -> int:
    return int(store.redis.xlen(store.keys.queue(QUEUE)))


def test_a_claim_enqueues_its_run_once_even_when_retried(store: Store) -> None:
    clock = Clock(store)
    tick = now_ms(store.redis) // 1000 * 1000
    first = clock.claim((tick, "run"))
    again = clock.claim((tick, "run"))  # redis-py resends a script after a timeout
    assert [(r.status, r.note) for r in first.results] == [("run", "queued")]
    assert again.results[0].fence == first.results[0].fence
    assert stream_len(store) == 1
    rec = record(store, tick)
    assert (rec.status, rec.attempt, rec.queue, rec.mode) == ("queued", 1, QUEUE, "workers")
    assert store.redis.zscore(store.keys.active("s"), str(tick)) == tick


def test_one_worker_starts_an_attempt_and_only_it_records_the_outcome(
    store: Store, blocking: redis.Redis
) -> None:
    clock = Clock(store)
    tick = now_ms(store.redis) // 1000 * 1000
    fence = clock.claim((tick, "run")).results[0].fence
    register(store, "w1")
    d = read_one(store, blocking, "w1")
    assert (d.schedule, d.tick_ms, d.attempt, d.fence) == ("s", tick, 1, fence)
    started = store.runs.start("w1", d)
    assert isinstance(started, Started) and started.fence == fence
    again = store.runs.start("w1", d)  # a retried call is answered as the first
    assert isinstance(again, Started) and replace(again, now_ms=0) == replace(started, now_ms=0)
    assert finish(store, "w2", tick, fence) == "fenced"  # not the owner
    assert finish(store, "w1", tick, fence + 1) == "fenced"  # not this attempt
    assert finish(store, "w1", tick, fence) == "ok"
    assert finish(store, "w1", tick, fence) == "ok"  # a retried call
    assert finish(store, "w1", tick, fence, "error") == "final"
    rec = record(store, tick)
    assert rec.status == "ok" and rec.finished_ms and rec.owner == ""
    assert stream_len(store) == 0  # acknowledged and deleted in the outcome's script
    assert store.redis.xpending(store.keys.queue(QUEUE), GROUP)["pending"] == 0
    assert store.redis.zcard(store.keys.active("s")) == 0
    (attempt,) = rec.attempt_list()
    assert (attempt.worker, attempt.end, attempt.fence) == ("w1", "ok", fence)


def test_a_worker_whose_lease_lapsed_starts_nothing(store: Store, blocking: redis.Redis) -> None:
    clock = Clock(store)
    tick = now_ms(store.redis) // 1000 * 1000
    clock.claim((tick, "run"))
    register(store, "w1", ttl_ms=200)
    d = read_one(store, blocking, "w1")
    time.sleep(0.3)
    assert store.runs.start("w1", d) == "unregistered"


def _info(worker: str) -> WorkerInfo:
    return WorkerInfo(
        id=worker, host="h", pid=1, queues=[QUEUE], concurrency=4, running=0, started_ms=0
    )


def test_a_lapsed_lease_the_reaper_has_not_touched_is_renewed_and_keeps_its_runs(
    store: Store, blocking: redis.Redis
) -> None:
    """A Redis outage longer than a worker's lease kills nobody: a worker that beats
    again before the reaper looked keeps its run, and the reaper then leaves it alone."""
    clock = Clock(store)
    tick = now_ms(store.redis) // 1000 * 1000
    fence = clock.claim((tick, "run")).results[0].fence
    register(store, "w1", ttl_ms=200)
    d = read_one(store, blocking, "w1")
    assert isinstance(store.runs.start("w1", d), Started)
    time.sleep(0.3)
    assert store.reaper.due(now_ms(store.redis), LEASE_MS).dead == ["w1"]  # lapsed
    assert store.workers.beat(_info("w1"), 60_000)[0] is True
    done, _ = store.reaper.reap_worker("w1", fence_floor=0)
    assert done and {r.outcome for r in done} == {"alive"}  # the run, and its entry
    assert finish(store, "w1", tick, fence) == "ok"


@pytest.mark.parametrize("gap", ["stall", "lost_writes"])
def test_no_worker_counts_as_dead_for_a_lease_after_a_gap_nobody_reached_redis_in(
    store: Store, gap: str
) -> None:
    """Redis stalled (or restarted, or a crash lost its last writes) for longer than a
    worker's beat interval: the leases that lapsed meanwhile prove nobody dead. Redis
    itself sees the gap between lease calls and beats, so even a clock that was not
    there before (it took over during the stall) spares the workers for one lease."""
    register(store, "w1", ttl_ms=LEASE_MS)
    if gap == "stall":
        time.sleep(LEASE_MS * 1.5 / 1000)  # nobody reaches Redis; w1's lease lapses
    else:
        time.sleep(LEASE_MS * 1.5 / 1000)
        store.redis.delete(store.keys.reachable_seen)  # and the crash took the note with it
    assert store.lease.acquire("new-clock", 2000, worker_lease_ms=LEASE_MS)
    due = store.reaper.due(now_ms(store.redis), LEASE_MS)
    assert (due.dead, due.spared) == ([], ["w1"])  # not yet known dead
    time.sleep(LEASE_MS * 1.2 / 1000)  # w1 did not beat in its lease: it is dead
    assert store.reaper.due(now_ms(store.redis), LEASE_MS).dead == ["w1"]


def test_a_worker_that_dies_while_others_reach_redis_is_dead_when_its_lease_lapses(
    store: Store,
) -> None:
    register(store, "dead", ttl_ms=LEASE_MS)
    until = time.monotonic() + LEASE_MS * 1.5 / 1000
    while time.monotonic() < until:  # the active clock renews; "dead" beats no more
        store.lease.acquire("clock", 2000, worker_lease_ms=LEASE_MS)
        time.sleep(LEASE_MS / 6000)
    assert store.reaper.due(now_ms(store.redis), LEASE_MS).dead == ["dead"]


def test_once_the_reaper_took_a_lapsed_lease_it_is_never_renewed(
    store: Store, blocking: redis.Redis
) -> None:
    clock = Clock(store)
    tick = now_ms(store.redis) // 1000 * 1000
    fence = clock.claim((tick, "run")).results[0].fence
    register(store, "w1", ttl_ms=200)
    d = read_one(store, blocking, "w1")
    assert isinstance(store.runs.start("w1", d), Started)
    time.sleep(0.3)
    done, complete = store.reaper.reap_worker("w1", fence_floor=0)
    assert complete and [r.outcome for r in done] == ["redelivered"]
    assert store.workers.beat(_info("w1"), 60_000)[0] is False  # it must come back anew
    assert finish(store, "w1", tick, fence) == "fenced"
    store.reaper.forget_worker("w1", now_ms(store.redis))
    assert store.workers.beat(_info("w1"), 60_000)[0] is False  # forgotten: the same


def test_a_worker_leaving_runs_redis_says_it_holds_hands_them_to_the_reaper(
    store: Store, blocking: redis.Redis
) -> None:
    """A crash forgot the outcome the worker wrote, then the worker stopped cleanly:
    Redis still says it runs the run. Deregistering must not strand it (running for
    ever, an overlap="skip" schedule skipping behind it): the reaper hands it on."""
    clock = Clock(store)
    tick = now_ms(store.redis) // 1000 * 1000
    clock.claim((tick, "run"))
    register(store, "w1")
    d = read_one(store, blocking, "w1")
    assert isinstance(store.runs.start("w1", d), Started)
    assert store.workers.deregister("w1", [QUEUE]) == 2  # the run, and its read entry
    dead = store.reaper.due(now_ms(store.redis), LEASE_MS).dead
    assert dead == ["w1"]
    done, complete = store.reaper.reap_worker("w1", fence_floor=0)
    assert complete and [(r.outcome, r.attempt) for r in done] == [("redelivered", 2)]
    store.reaper.forget_worker("w1", now_ms(store.redis))
    # a worker that holds nothing leaves no trace
    register(store, "w2")
    assert store.workers.deregister("w2", [QUEUE]) == 0
    assert store.redis.zscore(store.keys.workers, "w2") is None
    assert store.redis.zscore(store.keys.workers, "w1") is None


def test_a_dead_workers_run_goes_to_another_under_a_higher_fence(
    store: Store, blocking: redis.Redis
) -> None:
    clock = Clock(store)
    base = now_ms(store.redis) // 1000 * 1000
    f1 = clock.claim((base - 1000, "run")).results[0].fence
    f2 = clock.claim((base, "run")).results[0].fence  # a later tick's first grant
    register(store, "dead", ttl_ms=200)
    register(store, "other")
    d = read_one(store, blocking, "dead")
    assert d.tick_ms == base - 1000 and isinstance(store.runs.start("dead", d), Started)
    time.sleep(0.3)
    dead = store.reaper.due(now_ms(store.redis), LEASE_MS).dead
    assert dead == ["dead"]
    done, complete = store.reaper.reap_worker("dead", fence_floor=0)
    assert complete and [(r.outcome, r.attempt) for r in done] == [("redelivered", 2)]
    assert done[0].fence > f2 > f1  # above every earlier grant's
    # the zombie's late writes are refused; the new copy is untouched
    assert finish(store, "dead", base - 1000, f1) == "fenced"
    assert (
        store.runs.handback(
            "dead", schedule="s", queue=QUEUE, tick_ms=base - 1000, fence=f1, delay_ms=0, why="x"
        )
        is False
    )
    got = {d.tick_ms: d for d in store.runs.read(blocking, "other", [QUEUE], count=5,
                                                  block_ms=500)}  # fmt: skip
    again = got[base - 1000]
    assert (again.attempt, again.fence) == (2, done[0].fence)
    started = store.runs.start("other", again)
    assert isinstance(started, Started) and started.attempt == 2
    assert finish(store, "other", base - 1000, done[0].fence) == "ok"
    rec = record(store, base - 1000)
    assert [(a.worker, a.end) for a in rec.attempt_list()] == [("dead", "died"), ("other", "ok")]
    assert rec.deliveries == 1
    store.reaper.forget_worker("dead", now_ms(store.redis))
    assert store.redis.zscore(store.keys.workers, "dead") is None


def test_past_max_deliveries_a_run_is_lost_once(store: Store, blocking: redis.Redis) -> None:
    clock = Clock(store)
    tick = now_ms(store.redis) // 1000 * 1000
    clock.claim((tick, "run"), max_deliveries=2)
    outcomes = []
    for i in range(2):
        worker = f"dies{i}"
        register(store, worker, ttl_ms=150)
        assert isinstance(store.runs.start(worker, read_one(store, blocking, worker)), Started)
        time.sleep(0.2)
        done, _ = store.reaper.reap_worker(worker, fence_floor=0)
        outcomes += [r.outcome for r in done]
    assert outcomes == ["redelivered", "lost"]
    rec = record(store, tick)
    assert rec.status == "lost" and "max_deliveries" in (rec.error or "")
    assert stream_len(store) == 0 and store.redis.zcard(store.keys.active("s")) == 0


def test_an_entry_read_but_never_started_is_delivered_again(
    store: Store, blocking: redis.Redis
) -> None:
    clock = Clock(store)
    tick = now_ms(store.redis) // 1000 * 1000
    clock.claim((tick, "run"))
    register(store, "reader", ttl_ms=150)
    read_one(store, blocking, "reader")  # read, then died before start.lua
    time.sleep(0.2)
    done, complete = store.reaper.reap_worker("reader", fence_floor=0)
    assert complete and [r.outcome for r in done] == ["redelivered"]
    register(store, "w2")
    d = read_one(store, blocking, "w2")
    assert d.attempt == 2 and isinstance(store.runs.start("w2", d), Started)


def test_inline_the_claim_starts_the_run_and_its_dead_clocks_run_is_lost(
    store: Store, blocking: redis.Redis
) -> None:
    clock = Clock(store)
    tick = now_ms(store.redis) // 1000 * 1000
    register(store, "clock-a", ttl_ms=150)
    res = clock.claim((tick, "run"), mode="inline", worker="clock-a").results[0]
    assert (res.status, res.note) == ("run", "started")
    assert stream_len(store) == 0  # no instant between the claim and the start
    rec = record(store, tick)
    assert (rec.status, rec.owner, rec.attempt) == ("running", "clock-a", 1)
    time.sleep(0.2)  # the clock dies with it
    done, _ = store.reaper.reap_worker("clock-a", fence_floor=0)
    assert [r.outcome for r in done] == ["lost"]
    assert record(store, tick).status == "lost"


def test_a_claims_runs_chain_and_overlap_applies_to_earlier_claims_only(store: Store) -> None:
    clock = Clock(store)
    base = now_ms(store.redis) // 1000 * 1000 - 10_000
    # a failover's lag: three ticks in one claim run one after another, none skipped
    res = clock.claim((base, "run"), (base + 1000, "run"), (base + 2000, "run"), overlap="skip")
    assert [r.note for r in res.results] == ["queued", "waiting", "waiting"]
    # a later claim while they have not ended is skipped
    assert clock.claim((base + 3000, "run"), overlap="skip").results[0].status == "skipped"


def test_a_run_queued_past_its_max_lateness_is_missed_not_started(
    store: Store, blocking: redis.Redis
) -> None:
    clock = Clock(store)
    tick = now_ms(store.redis) // 1000 * 1000 - 5000
    clock.claim((tick, "run"), max_late_ms=2000)
    register(store, "w1")
    assert store.runs.start("w1", read_one(store, blocking, "w1")) == "missed"
    rec = record(store, tick)
    assert rec.status == "missed" and "max lateness" in (rec.error or "")
    assert stream_len(store) == 0


def test_overlap_skip_records_one_streak_while_a_run_has_not_ended(store: Store) -> None:
    clock = Clock(store)
    base = now_ms(store.redis) // 1000 * 1000 - 5000
    clock.claim((base, "run"), overlap="skip")
    results = [clock.claim((base + i * 1000, "run"), overlap="skip").results[0] for i in (1, 2, 3)]
    assert [(r.status, r.note) for r in results] == [
        ("skipped", "streak"),
        ("skipped", ""),
        ("skipped", ""),
    ]
    streak = record(store, base + 1000)
    assert (streak.status, streak.count, streak.last_ms, streak.blocked_by) == (
        "skipped",
        3,
        base + 3000,
        base,
    )
    assert store.redis.zcard(store.keys.ticks("s")) == 2  # the run and one streak record
    assert stream_len(store) == 1


def test_overlap_queue_keeps_one_waiting_run_started_when_the_current_ends(
    store: Store, blocking: redis.Redis
) -> None:
    clock = Clock(store)
    base = now_ms(store.redis) // 1000 * 1000 - 5000
    f0 = clock.claim((base, "run"), overlap="queue").results[0].fence
    waiting = clock.claim((base + 1000, "run"), overlap="queue").results[0]
    skipped = clock.claim((base + 2000, "run"), overlap="queue").results[0]
    assert (waiting.status, waiting.note) == ("run", "waiting")
    assert skipped.status == "skipped"
    assert stream_len(store) == 1
    register(store, "w1")
    d = read_one(store, blocking, "w1")
    assert isinstance(store.runs.start("w1", d), Started)
    assert finish(store, "w1", base, f0) == "ok"
    nxt = read_one(store, blocking, "w1")  # released by the outcome's script
    assert (nxt.tick_ms, nxt.fence) == (base + 1000, waiting.fence)


def test_catchup_runs_of_an_outage_run_one_after_another(store: Store) -> None:
    clock = Clock(store)
    base = now_ms(store.redis) // 1000 * 1000 - 10_000
    first = clock.claim((base - 1000, "run"), overlap="allow")  # not ended yet
    res = clock.claim(
        (base, "catchup"), (base + 1000, "catchup"), (base + 2000, "catchup"), overlap="allow"
    )
    assert first.results[0].note == "queued"
    assert [r.note for r in res.results] == ["waiting", "waiting", "waiting"]
    assert record(store, base).after == base - 1000
    assert record(store, base).next == base + 1000
    assert record(store, base + 2000).after == base + 1000
    assert stream_len(store) == 1  # only the run from the earlier claim


def test_history_trimming_never_drops_a_run_that_has_not_ended(store: Store) -> None:
    clock = Clock(store)
    base = now_ms(store.redis) // 1000 * 1000 - 200_000
    keep = clock.claim((base, "run")).results[0]  # never started, never ended
    items = [(base + 1000 * (i + 1), "missed") for i in range(150)]
    req = ClaimRequest(schedule="s", items=items, history_limit=100, policy=policy())  # type: ignore[arg-type]
    store.claims.claim_many("clock-a", clock.epoch, [req])
    assert store.redis.zcard(store.keys.ticks("s")) == 101  # 100 newest, and the live run
    assert record(store, base).fence == keep.fence


def test_a_failed_attempt_with_retries_left_runs_again_after_its_backoff(
    store: Store, blocking: redis.Redis
) -> None:
    clock = Clock(store)
    tick = now_ms(store.redis) // 1000 * 1000
    f1 = clock.claim((tick, "run"), retries=1, retry_backoff_ms=100).results[0].fence
    register(store, "w1")
    assert isinstance(store.runs.start("w1", read_one(store, blocking, "w1")), Started)
    assert finish(store, "w1", tick, f1, "error") == "retry"
    assert record(store, tick).status == "queued"
    time.sleep(0.15)
    delayed = store.reaper.due(now_ms(store.redis), LEASE_MS).delayed
    assert delayed == [("s", tick)]
    promoted = store.reaper.promote("s", tick, fence_floor=0)
    assert promoted.outcome == "queued" and promoted.fence > f1
    d = read_one(store, blocking, "w1")
    assert d.attempt == 2 and isinstance(store.runs.start("w1", d), Started)
    assert finish(store, "w1", tick, promoted.fence, "error") == "ok"  # retries spent
    assert record(store, tick).status == "error"


def test_a_handed_back_attempt_waits_then_goes_on_without_counting_as_a_death(
    store: Store, blocking: redis.Redis
) -> None:
    clock = Clock(store)
    tick = now_ms(store.redis) // 1000 * 1000
    f1 = clock.claim((tick, "run")).results[0].fence
    register(store, "w1")
    assert isinstance(store.runs.start("w1", read_one(store, blocking, "w1")), Started)
    assert store.runs.handback(
        "w1", schedule="s", queue=QUEUE, tick_ms=tick, fence=f1, delay_ms=100, why="handed_back"
    )
    assert store.reaper.promote("s", tick, fence_floor=0).outcome == "notdue"
    time.sleep(0.15)
    assert store.reaper.promote("s", tick, fence_floor=0).outcome == "queued"
    rec = record(store, tick)
    assert (rec.attempt, rec.deliveries, rec.handed_back) == (2, 0, 1)


def test_progress_is_saved_under_the_attempts_fence_and_a_stale_attempt_is_refused(
    store: Store, blocking: redis.Redis
) -> None:
    clock = Clock(store)
    tick = now_ms(store.redis) // 1000 * 1000
    f1 = clock.claim((tick, "run")).results[0].fence
    register(store, "old", ttl_ms=150)
    register(store, "new")
    assert isinstance(store.runs.start("old", read_one(store, blocking, "old")), Started)

    def save(worker: str, fence: int, value: str, limit: int = 1000) -> str:
        return store.runs.save_progress(
            worker, schedule="s", tick_ms=tick, fence=fence, value_json=value, max_bytes=limit
        )

    assert save("old", f1, '{"row": 10}') == "ok"
    assert save("old", f1, "x" * 2000) == "too_large"
    time.sleep(0.2)
    store.reaper.reap_worker("old", fence_floor=0)  # its lease lapsed: attempt 2
    d = read_one(store, blocking, "new")
    started = store.runs.start("new", d)
    assert isinstance(started, Started) and started.progress_json == '{"row": 10}'
    assert save("old", f1, '{"row": 99}') == "fenced"  # the zombie stores nothing
    assert save("new", started.fence, '{"row": 11}') == "ok"
    assert record(store, tick).progress == '{"row": 11}'


def test_a_stop_request_reaches_a_running_run_and_cancels_a_waiting_one(
    store: Store, blocking: redis.Redis
) -> None:
    clock = Clock(store)
    base = now_ms(store.redis) // 1000 * 1000 - 2000
    clock.claim((base, "run"), (base + 1000, "run"), overlap="skip")  # the second waits
    register(store, "w1")
    assert isinstance(store.runs.start("w1", read_one(store, blocking, "w1")), Started)
    ask = {"queue": QUEUE, "reason": "bad data", "by": "ops"}
    assert store.runs.request_stop(schedule="s", tick_ms=base, **ask) == "requested"
    assert store.runs.stops_for([("s", base)])[("s", base)]["reason"] == "bad data"
    assert store.runs.request_stop(schedule="s", tick_ms=base + 1000, **ask) == "cancelled"
    assert record(store, base + 1000).status == "cancelled"


def test_a_progress_save_rides_through_a_redis_restart(tmp_path: Path, namespace: str) -> None:
    """A job hours in must not fail on a Redis blip: the save is retried (it is
    idempotent) until Redis answers again."""
    server = RedisServer(tmp_path / "redis", aof=True)
    server.start()
    try:
        store = Store(connect(server.url, socket_timeout=2, retries=0), namespace)
        store.runs.ensure_groups([QUEUE])
        blocking = connect(server.url, socket_timeout=3, retries=0)
        tick = now_ms(store.redis) // 1000 * 1000
        Clock(store).claim((tick, "run"))
        register(store, "w")
        started = store.runs.start("w", read_one(store, blocking, "w"))
        assert isinstance(started, Started)
        control = AttemptControl(
            runs=store.runs,
            hooks=Hooks(),
            schedule=make_schedule(print, name="s", every="1h"),
            progress_json=None,
            grace_s=1,
        )
        control.context = RunContext(
            schedule="s", tick=tick_datetime(tick), fence=started.fence, clock_id="c",
            epoch=1, late=0, worker_id="w", queue=QUEUE,
        )  # fmt: skip
        server.stop()  # SIGTERM: the AOF keeps the run; the port refuses meanwhile
        back = threading.Timer(1.0, server.start)
        back.start()
        t0 = time.monotonic()
        control.save_progress({"row": 5})
        assert time.monotonic() - t0 >= 0.9  # it waited for Redis, then stored
        back.join()
        assert record(store, tick).progress == '{"row":5}'
    finally:
        server.stop()

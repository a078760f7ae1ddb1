"""The clock embedded in web processes: `clock.start()` / `stop()` in a background
thread. Three processes embedding the same clock (as `gunicorn -w 3` runs three) fire
each tick exactly once while one is killed with -9 and another stopped; in-process,
the lifecycle can be started, stopped and started again, and a forked child runs its
own clock under a new id."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import redis

from lockclock import Clock
from lockclock.coordination.store import Store
from tests.support import ROOT, RedisServer, active_pid, clock_env, wait_for


def ledger_ticks(path: Path) -> list[int]:
    if not path.exists():
        return []
    return [json.loads(line)["tick"] for line in path.read_text().splitlines() if '"start"' in line]


def embedded(
    redis_server: RedisServer, namespace: str, ledger: Path, log: Path
) -> subprocess.Popen[str]:
    env = clock_env(
        redis_server.url, namespace, WORKER_SCHEDULES="sec", WORKER_LEDGER=str(ledger),
        WORKER_JOB_SECONDS="0.05", LOCKCLOCK_LEASE_TTL="1",
    )  # fmt: skip
    return subprocess.Popen(
        [sys.executable, "-m", "tests.apps.embedded_app"],
        cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip


def test_three_embedding_processes_fire_each_tick_once_through_a_kill_and_a_stop(
    redis_server: RedisServer, client: redis.Redis, namespace: str, tmp_path: Path
) -> None:
    ledger = tmp_path / "ledger.jsonl"
    logs = [tmp_path / f"web{i}.log" for i in range(3)]
    procs = [embedded(redis_server, namespace, ledger, log) for log in logs]
    try:
        for log in logs:
            wait_for(lambda log=log: "ready " in log.read_text(), 20, "an embedded clock")
        wait_for(lambda: len(ledger_ticks(ledger)) >= 3, 20, "ticks")
        first = next(p for p in procs if p.pid == active_pid(client, namespace))
        first.send_signal(signal.SIGKILL)  # a web process killed with -9
        first.wait(5)
        wait_for(lambda: active_pid(client, namespace) not in (None, first.pid), 10, "takeover")
        time.sleep(2)
        second = next(p for p in procs if p.pid == active_pid(client, namespace))
        second.send_signal(signal.SIGTERM)  # a graceful stop: the app's shutdown hook
        assert second.wait(10) == 0
        assert "stopped True" in logs[procs.index(second)].read_text()
        t_stop = time.time()
        (last,) = [p for p in procs if p.poll() is None]
        wait_for(lambda: active_pid(client, namespace) == last.pid, 3, "an instant handoff")
        assert time.time() - t_stop < 2  # released, not waited out
        time.sleep(3)
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            p.wait(10)
    ticks = ledger_ticks(ledger)
    twice = [t for t, n in Counter(ticks).items() if n > 1]
    assert twice == [], "a tick ran twice"
    # every second from the first tick to the last ran (the kill costs at most a lease of
    # lateness, never a tick: the standby catches up)
    assert sorted(ticks) == list(range(min(ticks), max(ticks) + 1000, 1000))


def test_the_lifecycle_starts_stops_and_starts_again_in_process(
    redis_server: RedisServer, client: redis.Redis, namespace: str
) -> None:
    ran: list[str] = []
    clock = Clock(redis_url=redis_server.url, namespace=namespace, lease_ttl=1)

    @clock.schedule(every="1s", name="beat", overlap="allow")
    def beat() -> None:
        ran.append("x")

    handle = clock.start()
    wait_for(lambda: handle.active, 10, "the embedded clock to lead")
    first_id = handle.clock_id
    wait_for(lambda: len(ran) >= 2, 10, "runs")
    assert clock.stop(timeout=5) is True
    assert not handle.alive
    assert client.hget(Store(client, namespace).keys.lease, "clock") is None  # released
    count = len(ran)
    time.sleep(1.5)
    assert len(ran) == count  # stopped means stopped
    with clock.running() as again:  # and again, as from a REPL
        wait_for(lambda: again.active, 10, "the clock to lead again")
        assert again.clock_id != first_id
        wait_for(lambda: len(ran) > count, 10, "runs again")
    assert not again.alive

    async def lifespan() -> None:
        async with clock as running:
            await asyncio.to_thread(wait_for, lambda: running.active, 10, "async with")
        assert not running.alive

    asyncio.run(lifespan())


def test_a_forked_child_runs_its_own_clock_under_a_new_id(
    redis_server: RedisServer, client: redis.Redis, namespace: str, tmp_path: Path
) -> None:
    out = tmp_path / "child.txt"
    clock = Clock(redis_url=redis_server.url, namespace=namespace, lease_ttl=1)

    @clock.schedule(cron="0 0 1 1 *", name="yearly")
    def yearly() -> None: ...

    handle = clock.start()
    wait_for(lambda: handle.active, 10, "the parent's clock to lead")
    pid = os.fork()
    if pid == 0:  # the child: its own thread, its own id
        try:
            child = clock._background
            ok = child is not None and wait_for(lambda: child.alive, 5, "the child's clock")
            out.write_text(f"{child.clock_id if child else ''} {ok}")
            clock.stop(timeout=3)
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    child_id, ok = out.read_text().split()
    assert ok == "True" and child_id and child_id != handle.clock_id
    assert str(pid) in child_id  # the clock id names its process
    assert handle.alive and handle.active  # the parent's clock carries on
    assert clock.stop(timeout=5)

"""The clock loop driven step by step in this process, against a real redis-server: no
subprocesses and no fixed sleeps, so each scenario takes well under a second or two.
(The same guarantees with real processes and real kills are in tests/system.)"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable

import redis

from lockclock import Clock, current_run
from lockclock.coordination.keys import Keys
from lockclock.engine.loop import ClockLoop
from tests.support import history, outages, step_until


def ledger_clock(ran: list[tuple[str, int, int]], **options: object) -> Clock:
    clock = Clock()
    lock = threading.Lock()

    def job() -> None:
        run = current_run()
        with lock:
            ran.append((run.schedule, run.tick_ms, run.fence))

    for name, opts in options.items():
        assert isinstance(opts, dict)
        o = dict(opts)
        clock.schedule(o.pop("cron", None), name=name, **o)(job)
    return clock


def now_ms(client: redis.Redis) -> int:
    sec, usec = client.time()
    return int(sec) * 1000 + int(usec) // 1000


def test_a_loop_takes_the_lease_claims_and_records_each_run(
    make_loop: Callable[..., ClockLoop], client: redis.Redis, namespace: str
) -> None:
    ran: list[tuple[str, int, int]] = []
    loop = make_loop(ledger_clock(ran, sec={"cron": "* * * * * *"}))
    step_until(loop, lambda: loop.leadership.active, 5, "the lease")
    step_until(loop, lambda: len(ran) >= 3, 5, "three runs")
    step_until(
        loop,
        lambda: sum(h["status"] == "ok" for h in history(client, namespace, "sec")) >= 3,
        5,
        "three outcomes",
    )
    ticks = [t for _, t, _ in ran]
    assert ticks == sorted(set(ticks))
    assert all(b - a == 1000 for a, b in itertools.pairwise(ticks))
    fences = [f for _, _, f in ran]
    assert fences == sorted(set(fences))


def test_a_standby_waits_and_takes_over_at_once_on_release(
    make_loop: Callable[..., ClockLoop], client: redis.Redis, namespace: str
) -> None:
    ran: list[tuple[str, int, int]] = []
    clock = ledger_clock(ran, sec={"cron": "* * * * * *"})
    first, second = make_loop(clock), make_loop(clock)
    step_until(first, lambda: first.leadership.active, 5, "the first lease")
    second.step()
    assert not second.leadership.active
    first.stop()
    first.run()  # shutdown: releases the lease
    t0 = time.monotonic()
    step_until(second, lambda: second.leadership.active, 2, "the handoff")
    assert time.monotonic() - t0 < 0.5
    assert client.hget(Keys(namespace).lease_last, "clock") == second.clock_id


def test_ticks_that_passed_unfired_follow_each_catchup_policy(
    make_loop: Callable[..., ClockLoop], client: redis.Redis, namespace: str
) -> None:
    ran: list[tuple[str, int, int]] = []
    policies = {
        "skip": {"cron": "* * * * * *", "catchup": "skip"},
        "latest": {"cron": "* * * * * *", "catchup": "latest"},
        "all3": {"cron": "* * * * * *", "catchup": "all", "catchup_limit": 3},
    }
    # every schedule last ran 20 s ago, and no clock has run since: an outage
    since = now_ms(client) // 1000 * 1000 - 20_000
    client.hset(Keys(namespace).hwm, mapping=dict.fromkeys(policies, since))
    loop = make_loop(ledger_clock(ran, **policies))
    step_until(loop, lambda: all(outages(client, namespace, n) for n in policies), 5, "outages")
    expected_late = {"skip": 0, "latest": 1, "all3": 3}
    for name, late in expected_late.items():
        (window,) = outages(client, namespace, name)
        assert window["first_ms"] == since + 1000 and window["policy"] == name.rstrip("3")
        assert window["run_late"] == late
        assert window["missed"] == window["count"] - late
        missed = [h for h in history(client, namespace, name) if h["status"] == "missed"]
        assert len(missed) == window["missed"]


def test_a_loop_that_lost_its_lease_is_refused_and_steps_down(
    make_loop: Callable[..., ClockLoop], client: redis.Redis, namespace: str
) -> None:
    ran: list[tuple[str, int, int]] = []
    loop = make_loop(ledger_clock(ran, sec={"cron": "* * * * * *"}))
    step_until(loop, lambda: loop.leadership.active, 5, "the lease")
    client.delete(Keys(namespace).lease)  # as if it lapsed while this clock was paused
    client.hset(Keys(namespace).lease, mapping={"clock": "someone-else", "epoch": "999"})
    step_until(loop, lambda: not loop.leadership.active, 3, "the refusal")
    before = len(ran)
    for _ in range(8):
        loop.step()  # a standby now: it claims nothing under someone else's lease
    assert len(ran) == before

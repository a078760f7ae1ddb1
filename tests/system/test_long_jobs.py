"""Long jobs through restarts, with real processes: 40 steps of 0.5 s that save their
progress after each. A SIGTERM at any step costs nothing (the job stops between steps
and resumes elsewhere from the saved one); a kill -9 costs at most the step in flight;
a zombie's saves are refused. Each step writes a ledger row when it starts, and another
once its progress save was accepted."""

from __future__ import annotations

import json
import random
import re
import signal
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import redis

from lockclock.coordination.store import Store
from lockclock.ops.control import request_stop
from tests.sentry_receiver import SentryReceiver
from tests.support import ClockProcess, RedisServer, clock_env, run_cli, wait_for
from tests.system.test_workers import Fleet, due_long_ago, records, rows

STEPS = 40


def fleet_of(spawn: Callable[..., ClockProcess], ledger: Path, **env: str) -> Fleet:
    """Clocks and workers whose long jobs take STEPS steps."""
    return Fleet(spawn, ledger, **{"WORKER_STEPS": str(STEPS), **env})


def steps(ledger: Path, kind: str) -> list[dict[str, Any]]:
    return [r for r in rows(ledger, kind) if "step" in r]


class NoRun:
    status = None


def the_run(client: redis.Redis, namespace: str, schedule: str) -> Any:
    """The schedule's one claimed run (a stand-in whose status is None before it)."""
    found = [r for r in records(client, namespace, schedule).values() if r.fence]
    assert len(found) <= 1, found
    return found[0] if found else NoRun()


def busy_at_step(ledger: Path, at: int) -> dict[str, Any] | None:
    started = steps(ledger, "step")
    return started[-1] if started and started[-1]["step"] >= at else None


@pytest.mark.serial
@pytest.mark.parametrize("schedule", ["steps", "steps_each", "steps_async"])
def test_sigterm_at_any_step_loses_no_work_and_resumes_at_once(
    spawn: Callable[..., ClockProcess],
    client: redis.Redis,
    namespace: str,
    tmp_path: Path,
    sentry: SentryReceiver,
    schedule: str,
) -> None:
    n = 20  # both workers are up before the run: no process start-up to outlast
    ledger = tmp_path / "runs.jsonl"
    fleet = fleet_of(
        spawn, ledger, WORKER_SCHEDULES=schedule, WORKER_STEPS=str(n), LOCKCLOCK_GRACE="5",
        SENTRY_DSN=sentry.dsn,
    )  # fmt: skip
    due_long_ago(client, namespace, schedule)
    pair = [fleet.worker(), fleet.worker()]
    wait_for(lambda: all(w.events("worker_started") for w in pair), 20, "two workers")
    fleet.clock()
    at = random.Random(schedule).randrange(3, n - 5)
    wait_for(lambda: busy_at_step(ledger, at), 40, f"step {at}")
    runs_it = steps(ledger, "step")[0]["pid"]
    [first] = [w for w in pair if w.pid == runs_it]
    [second] = [w for w in pair if w is not first]
    first.signal(signal.SIGTERM)
    assert first.wait(6) == 0
    (handed,) = first.events("run_handed_back")
    assert "why=stopped" in handed
    wait_for(lambda: len({r["step"] for r in steps(ledger, "step")}) == n, 40, "all steps")
    wait_for(lambda: the_run(client, namespace, schedule).status == "ok", 10, "the outcome")
    fleet.stop(fleet.clocks + fleet.workers)
    started = steps(ledger, "step")
    assert sorted(r["step"] for r in started) == list(range(n)), "a step ran twice"
    resumed = [r for r in started if r["attempt"] == 2]
    assert resumed[0]["step"] == max(r["step"] for r in started if r["attempt"] == 1) + 1
    assert resumed[0]["pid"] == second.pid
    rec = the_run(client, namespace, schedule)
    tried = rec.attempt_list()
    assert [t.end for t in tried] == ["stopped", "ok"] and rec.deliveries == 0
    # another worker started it within a second of the hand-back
    assert tried[1].started_ms - tried[0].ended_ms < 1000  # type: ignore[operator]
    # one monitor run across both attempts: opened twice under one id, closed ok once
    sentry.wait(lambda s: any(c["status"] == "ok" for c in s.checkins()), 10, "closed")
    checkins = sentry.checkins()
    assert [c["status"] for c in checkins] == ["in_progress", "in_progress", "ok"], checkins
    assert len({c["check_in_id"] for c in checkins}) == 1
    kinds = {e["fingerprint"][1] for e in sentry.events()}
    assert not kinds & {"failed", "lost", "interrupted", "timed-out"}, kinds


def test_kill_9_costs_at_most_the_step_in_flight(
    spawn: Callable[..., ClockProcess],
    client: redis.Redis,
    redis_server: RedisServer,
    namespace: str,
    tmp_path: Path,
) -> None:
    ledger = tmp_path / "runs.jsonl"
    fleet = fleet_of(spawn, ledger, WORKER_SCHEDULES="steps")
    due_long_ago(client, namespace, "steps")
    first = fleet.worker()
    fleet.clock()
    wait_for(lambda: busy_at_step(ledger, 5), 20, "step 5")
    # an operator sees how far the run got, and how long ago it said so
    env = clock_env(redis_server.url, namespace)
    shown = run_cli("history", "steps", "--limit", "1", env=env).stdout
    saved = re.search(r"running .*  progress (\d+) \((\d+)s ago\)", shown)
    assert saved and int(saved[1]) >= 5 and int(saved[2]) <= 2, shown
    (as_json,) = json.loads(run_cli("history", "steps", "--json", env=env).stdout)
    assert as_json["progress"] >= int(saved[1])
    second = fleet.worker()
    wait_for(lambda: second.events("worker_started"), 10, "a second worker")
    killed_at = time.time()
    first.signal(signal.SIGKILL)
    wait_for(lambda: the_run(client, namespace, "steps").status == "ok", 40, "the outcome")
    fleet.stop(fleet.clocks + fleet.workers)
    counts = Counter(r["step"] for r in steps(ledger, "step"))
    assert set(counts) == set(range(STEPS))
    twice = [s for s, n in counts.items() if n > 1]
    assert len(twice) <= 1  # the step in flight at the kill
    accepted = [r["step"] for r in steps(ledger, "accepted")]
    assert sorted(accepted) == list(range(STEPS))  # each accepted once
    resumed = min(r["t"] for r in steps(ledger, "step") if r["attempt"] == 2)
    assert resumed - killed_at < 1.0 + 0.5 + 1.5  # worker lease, reaper pass, slack


@pytest.mark.parametrize("stall_s", [1.6, 2.5])
def test_a_redis_outage_longer_than_the_worker_lease_moves_no_run(
    spawn: Callable[..., ClockProcess],
    client: redis.Redis,
    redis_server: RedisServer,
    namespace: str,
    tmp_path: Path,
    stall_s: float,
) -> None:
    """Redis stops answering everyone for longer than the worker lease (1 s): nobody
    died, so when it answers again the worker renews its lease before the clock reaps,
    and the run goes on in its first attempt, every step once. At 2.5 s the clock's
    calls fail; at 1.6 s its renewal is only slow (a retry inside the socket timeout),
    which must spare the workers just the same."""
    ledger = tmp_path / "runs.jsonl"
    fleet = fleet_of(spawn, ledger, WORKER_SCHEDULES="steps", WORKER_STEPS="12")
    due_long_ago(client, namespace, "steps")
    worker = fleet.worker()
    clock = fleet.clock()
    wait_for(lambda: busy_at_step(ledger, 3), 20, "step 3")
    redis_server.signal(signal.SIGSTOP)
    try:
        time.sleep(stall_s)
    finally:
        redis_server.signal(signal.SIGCONT)
    wait_for(lambda: the_run(client, namespace, "steps").status == "ok", 30, "the outcome")
    fleet.stop(fleet.clocks + fleet.workers)
    assert worker.events("redis_unavailable"), "the worker never lost Redis: no outage"
    assert_stayed_with_its_worker(client, namespace, ledger, worker, clock)


def assert_stayed_with_its_worker(
    client: redis.Redis, namespace: str, ledger: Path, worker: ClockProcess, clock: ClockProcess
) -> None:
    """The 12-step run went on in its first attempt, every step once: nothing moved."""
    counts = Counter(r["step"] for r in steps(ledger, "step"))
    assert counts == Counter(range(12)), counts
    assert {r["attempt"] for r in steps(ledger, "step")} == {1}
    assert not worker.events("worker_lease_lost") and not clock.events("run_redelivered")
    assert [t.end for t in the_run(client, namespace, "steps").attempt_list()] == ["ok"]


def test_a_clock_taking_over_during_a_redis_stall_moves_no_run(
    spawn: Callable[..., ClockProcess],
    client: redis.Redis,
    redis_server: RedisServer,
    namespace: str,
    tmp_path: Path,
) -> None:
    """The active clock dies and Redis stalls before anyone took over; a new clock starts
    during the stall and takes the lease as soon as Redis answers. That clock never saw
    the worker's lease before it lapsed, nor an error of its own before (its first call
    may only have waited): Redis itself noted the gap, so the new clock spares the live
    worker, whose run goes on in its first attempt, every step once."""
    ledger = tmp_path / "runs.jsonl"
    fleet = fleet_of(spawn, ledger, WORKER_SCHEDULES="steps", WORKER_STEPS="12")
    due_long_ago(client, namespace, "steps")
    worker = fleet.worker()
    first = fleet.clock()
    wait_for(lambda: busy_at_step(ledger, 3), 20, "step 3")
    first.signal(signal.SIGKILL)
    redis_server.signal(signal.SIGSTOP)
    try:
        taker = fleet.clock()  # its process starts; its first call waits on Redis
        time.sleep(2.5)  # past the dead clock's lease (2 s) and the worker's (1 s)
    finally:
        redis_server.signal(signal.SIGCONT)
    wait_for(lambda: taker.events("lease_acquired"), 20, "the new clock to take over")
    wait_for(lambda: the_run(client, namespace, "steps").status == "ok", 30, "the outcome")
    fleet.stop([taker, worker])
    assert "how=expired" in taker.events("lease_acquired")[0]
    assert_stayed_with_its_worker(client, namespace, ledger, worker, taker)


def test_a_zombies_saves_are_refused(
    spawn: Callable[..., ClockProcess], client: redis.Redis, namespace: str, tmp_path: Path
) -> None:
    ledger = tmp_path / "runs.jsonl"
    fleet = fleet_of(spawn, ledger, WORKER_SCHEDULES="steps")
    due_long_ago(client, namespace, "steps")
    zombie = fleet.worker()
    fleet.clock()
    wait_for(lambda: busy_at_step(ledger, 5), 20, "step 5")
    fleet.worker()
    zombie.signal(signal.SIGSTOP)
    wait_for(lambda: [r for r in steps(ledger, "step") if r["attempt"] == 2], 10, "attempt 2")
    zombie.signal(signal.SIGCONT)
    wait_for(lambda: the_run(client, namespace, "steps").status == "ok", 40, "the outcome")
    fleet.stop(fleet.clocks + fleet.workers)
    accepted = [r for r in steps(ledger, "accepted")]
    assert sorted(r["step"] for r in accepted) == list(range(STEPS)), "an accepted step twice"
    # the zombie woke up, finished its step, and its save was refused: it stopped
    taken_over = min(x["t"] for x in steps(ledger, "step") if x["attempt"] == 2)
    late = [r for r in accepted if r["pid"] == zombie.pid and r["t"] > taken_over]
    assert not late, "the zombie saved progress after a newer attempt began"
    assert zombie.events("run_superseded")


def test_an_item_longer_than_the_grace_is_warned_of_once_in_the_log_and_sentry(
    spawn: Callable[..., ClockProcess],
    client: redis.Redis,
    namespace: str,
    tmp_path: Path,
    sentry: SentryReceiver,
) -> None:
    ledger = tmp_path / "runs.jsonl"
    fleet = fleet_of(
        spawn, ledger, WORKER_SCHEDULES="slow_items", WORKER_LONG_SECONDS="1.3",
        LOCKCLOCK_GRACE="1", SENTRY_DSN=sentry.dsn,
    )  # fmt: skip
    due_long_ago(client, namespace, "slow_items")
    worker = fleet.worker()
    fleet.clock()
    wait_for(lambda: the_run(client, namespace, "slow_items").status == "ok", 30, "the run")
    fleet.stop(fleet.clocks + fleet.workers)
    (line,) = worker.events("slow_item")  # three slow items, one warning
    assert "schedule=slow_items" in line and "grace_s=1.0" in line
    (event,) = sentry.wait(lambda s: s.events("slow-item"), 5, "the Sentry warning")
    assert event["level"] == "warning" and "longer than the 1s grace" in event["message"]
    assert event["contexts"]["lockclock_run"]["item_s"] >= 1.3


def test_inline_sigterm_hands_a_long_run_to_the_standby_with_its_progress(
    spawn: Callable[..., ClockProcess], client: redis.Redis, namespace: str, tmp_path: Path
) -> None:
    ledger = tmp_path / "runs.jsonl"
    fleet = fleet_of(spawn, ledger, WORKER_SCHEDULES="steps", LOCKCLOCK_DISPATCH="inline")
    due_long_ago(client, namespace, "steps")
    first = fleet.clock()
    wait_for(lambda: busy_at_step(ledger, 5), 20, "step 5")
    second = fleet.clock()
    wait_for(lambda: second.events("clock_started"), 10, "the standby")
    time.sleep(0.5)
    first.signal(signal.SIGTERM)
    assert first.wait(10) == 0
    wait_for(lambda: the_run(client, namespace, "steps").status == "ok", 40, "the outcome")
    fleet.stop(fleet.clocks)
    started = steps(ledger, "step")
    assert sorted(r["step"] for r in started) == list(range(STEPS))
    assert {r["pid"] for r in started} == {first.pid, second.pid}


def test_inline_kill_9_resumes_a_run_with_progress_instead_of_losing_it(
    spawn: Callable[..., ClockProcess], client: redis.Redis, namespace: str, tmp_path: Path
) -> None:
    ledger = tmp_path / "runs.jsonl"
    fleet = fleet_of(spawn, ledger, WORKER_SCHEDULES="steps", LOCKCLOCK_DISPATCH="inline")
    due_long_ago(client, namespace, "steps")
    first = fleet.clock()
    wait_for(lambda: busy_at_step(ledger, 5), 20, "step 5")
    first.signal(signal.SIGKILL)
    second = fleet.clock()
    wait_for(lambda: the_run(client, namespace, "steps").status == "ok", 40, "the outcome")
    fleet.stop(fleet.clocks)
    counts = Counter(r["step"] for r in steps(ledger, "step"))
    assert set(counts) == set(range(STEPS)) and sum(n > 1 for n in counts.values()) <= 1
    assert not second.events("run_lost")


def test_a_timeout_stops_a_polite_run_and_outlasts_a_stubborn_one(
    spawn: Callable[..., ClockProcess], client: redis.Redis, namespace: str, tmp_path: Path
) -> None:
    ledger = tmp_path / "runs.jsonl"
    fleet = fleet_of(
        spawn, ledger, WORKER_SCHEDULES="timeout_polite,timeout_stubborn",
        WORKER_LONG_SECONDS="8", LOCKCLOCK_GRACE="1",
    )  # fmt: skip
    due_long_ago(client, namespace, "timeout_polite")
    due_long_ago(client, namespace, "timeout_stubborn")
    worker = fleet.worker()
    fleet.clock()
    polite = wait_for(
        lambda: the_run(client, namespace, "timeout_polite").status == "timed_out", 10, "polite"
    )
    assert polite
    rec = the_run(client, namespace, "timeout_polite")
    assert rec.error == "stopped at its timeout" and 1400 <= (rec.duration_ms or 0) < 2500
    stubborn = wait_for(
        lambda: the_run(client, namespace, "timeout_stubborn").status == "timed_out", 10, "stubborn"
    )
    assert stubborn
    # a worker whose thread runs on past a timeout exits, so the platform restarts it clean
    assert worker.wait(10) == 0
    assert worker.events("worker_exiting")
    fleet.stop(fleet.clocks)


def test_an_async_run_past_its_timeout_is_cancelled_and_its_worker_carries_on(
    spawn: Callable[..., ClockProcess], client: redis.Redis, namespace: str, tmp_path: Path
) -> None:
    ledger = tmp_path / "runs.jsonl"
    fleet = fleet_of(
        spawn, ledger, WORKER_SCHEDULES="timeout_stubborn_async,every2s",
        WORKER_LONG_SECONDS="20", LOCKCLOCK_GRACE="1",
    )  # fmt: skip
    due_long_ago(client, namespace, "timeout_stubborn_async")
    worker = fleet.worker()
    fleet.clock()
    wait_for(
        lambda: the_run(client, namespace, "timeout_stubborn_async").status == "timed_out",
        10,
        "timed out",
    )
    rec = the_run(client, namespace, "timeout_stubborn_async")
    # asked to stop at 1.5 s, cancelled after the 1 s grace: a task can be, a thread not
    assert 2400 <= (rec.duration_ms or 0) < 4000, rec.duration_ms
    assert [r["kind"] for r in rows(ledger) if r["schedule"] == "timeout_stubborn_async"] == [
        "start",
        "cancelled",
    ]
    ran = len(rows(ledger, "end"))
    wait_for(lambda: len(rows(ledger, "end")) >= ran + 2, 10, "later runs on the same worker")
    assert worker.alive() and not worker.events("worker_exiting")
    fleet.stop(fleet.clocks + fleet.workers)


def test_inline_a_stubborn_timed_out_run_holds_its_schedule_until_its_thread_ends(
    spawn: Callable[..., ClockProcess], client: redis.Redis, namespace: str, tmp_path: Path
) -> None:
    ledger = tmp_path / "runs.jsonl"
    fleet = fleet_of(
        spawn, ledger, WORKER_SCHEDULES="timeout_stubborn", WORKER_LONG_SECONDS="4",
        LOCKCLOCK_DISPATCH="inline", LOCKCLOCK_GRACE="1",
    )  # fmt: skip
    due_long_ago(client, namespace, "timeout_stubborn")
    clock = fleet.clock()
    wait_for(
        lambda: the_run(client, namespace, "timeout_stubborn").status == "timed_out",
        10,
        "timed out",
    )
    store = Store(client, namespace)
    tick = the_run(client, namespace, "timeout_stubborn").tick
    assert client.zscore(store.keys.active("timeout_stubborn"), str(tick)) is not None
    wait_for(lambda: rows(ledger, "end"), 10, "its thread to end")
    wait_for(
        lambda: client.zscore(store.keys.active("timeout_stubborn"), str(tick)) is None,
        5,
        "the schedule to be free",
    )
    assert clock.alive()
    fleet.stop(fleet.clocks)


def test_an_operator_stop_cancels_a_running_run(
    spawn: Callable[..., ClockProcess], client: redis.Redis, namespace: str, tmp_path: Path
) -> None:
    ledger = tmp_path / "runs.jsonl"
    fleet = fleet_of(spawn, ledger, WORKER_SCHEDULES="cancellable", WORKER_LONG_SECONDS="30")
    due_long_ago(client, namespace, "cancellable")
    fleet.worker()
    fleet.clock()
    wait_for(lambda: rows(ledger, "start"), 15, "the run to start")
    tick = rows(ledger, "start")[0]["tick"]
    store = Store(client, namespace)
    answer = request_stop(store, "cancellable", tick, reason="wrong input", by="ops@example")
    assert answer == "requested"
    wait_for(lambda: the_run(client, namespace, "cancellable").status == "cancelled", 5, "cancel")
    rec = the_run(client, namespace, "cancellable")
    assert rec.error == "cancel by ops@example: wrong input"
    assert request_stop(store, "cancellable", tick, reason="again", by="x") == "ended"
    fleet.stop(fleet.clocks + fleet.workers)

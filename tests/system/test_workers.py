"""dispatch="workers" with real processes: clocks enqueue in the claim, `lockclock worker`
processes run, and every claimed run ends with exactly one accepted outcome whatever is
killed, stopped or paused. Each job writes a start and an end row to a ledger outside
lockclock's keys (tests/apps/worker_app.py), so the tests judge by what ran."""

from __future__ import annotations

import itertools
import json
import signal
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import redis

from lockclock.coordination.records import RunRecord
from lockclock.coordination.store import Store
from tests.sentry_receiver import SentryReceiver
from tests.support import (
    ClockProcess,
    RedisServer,
    active_pid,
    cli_in_process,
    clock_env,
    read_ledger,
    run_cli,
    wait_for,
)

APP = "tests.apps.worker_app:clock"


def rows(
    ledger: Path, kind: str | None = None, schedule: str | None = None
) -> list[dict[str, Any]]:
    out = read_ledger(ledger)
    return [
        r
        for r in out
        if (kind is None or r["kind"] == kind) and (schedule is None or r["schedule"] == schedule)
    ]


def due_long_ago(client: redis.Redis, namespace: str, schedule: str) -> None:
    """An hourly schedule whose tick is due now: its mark is an hour old."""
    mark = str(int(time.time() * 1000) - 3_600_000)
    client.hset(Store(client, namespace).keys.hwm, schedule, mark)


def records(client: redis.Redis, namespace: str, schedule: str) -> dict[int, RunRecord]:
    return Store(client, namespace).history.all_runs(schedule)


class Fleet:
    """Clocks and workers of worker_app in workers mode, on the test's Redis."""

    def __init__(self, spawn: Callable[..., ClockProcess], ledger: Path, **env: str) -> None:
        self.spawn = spawn
        self.env = {
            "LOCKCLOCK_DISPATCH": "workers",
            "LOCKCLOCK_WORKER_LEASE": "1",
            "LOCKCLOCK_GRACE": "1",
            "WORKER_LEDGER": str(ledger),
            **env,
        }
        self.clocks: list[ClockProcess] = []
        self.workers: list[ClockProcess] = []

    def clock(self) -> ClockProcess:
        p = self.spawn(APP, **self.env)
        self.clocks.append(p)
        return p

    def worker(self, *args: str, **env: str) -> ClockProcess:
        p = self.spawn(APP, command="worker", args=args, **{**self.env, **env})
        self.workers.append(p)
        return p

    def stop(self, procs: list[ClockProcess]) -> None:
        for p in procs:
            if p.alive():
                p.signal(signal.SIGCONT)
                p.signal(signal.SIGTERM)
        for p in procs:
            if p.proc is not None and p.proc.poll() is None:
                assert p.wait(15) == 0, p.log()[-2000:]


def first_fence(rec: RunRecord) -> int:
    """The claim's fence: the first grant's, whether or not that attempt started."""
    assert rec.claim_fence is not None
    return rec.claim_fence


def mid_run(ledger: Path, pids: set[int]) -> dict[str, Any] | None:
    """A start row, of one of `pids`, whose run has not ended yet."""
    ended = {(r["tick"], r["attempt"]) for r in rows(ledger, "end")}
    for r in reversed(rows(ledger, "start")):
        if r["pid"] in pids and (r["tick"], r["attempt"]) not in ended:
            return r
    return None


def test_a_run_goes_from_the_claim_to_a_worker(
    spawn: Callable[..., ClockProcess], client: redis.Redis, namespace: str, tmp_path: Path
) -> None:
    ledger = tmp_path / "runs.jsonl"
    fleet = Fleet(spawn, ledger, WORKER_SCHEDULES="sec")
    clock = fleet.clock()
    wait_for(lambda: clock.events("fire"), 10, "a claim")
    worker = fleet.worker()
    wait_for(lambda: len(rows(ledger, "end")) >= 3, 15, "three runs on the worker")
    fleet.stop(fleet.clocks)
    fleet.stop(fleet.workers)
    started = rows(ledger, "start")
    assert {r["pid"] for r in started} == {worker.pid}  # the clock ran nothing itself
    assert all(r["attempt"] == 1 and r["queue"] == "default" for r in started)
    assert all(r["worker"].split(":")[-2] == str(worker.pid) for r in started)
    assert all(r["enqueued"] and r["enqueued"] <= r["t"] for r in started)
    recs = records(client, namespace, "sec")
    for r in rows(ledger, "end"):
        rec = recs[r["tick"]]
        assert (rec.status, rec.fence, rec.owner) == ("ok", r["fence"], "")
    assert worker.events("run_started") and worker.events("run_ok")
    assert not clock.events("run_started")


def test_every_run_ends_once_through_worker_and_clock_faults(
    spawn: Callable[..., ClockProcess], client: redis.Redis, namespace: str, tmp_path: Path
) -> None:
    """2 clocks and 3 workers; kill -9 a worker mid-run, SIGTERM another (its replacement
    starts at once), SIGSTOP a third past its lease and resume it, kill -9 the active
    clock. Every claimed run ends with exactly one accepted outcome."""
    ledger = tmp_path / "runs.jsonl"
    fleet = Fleet(spawn, ledger, WORKER_SCHEDULES="sec")
    fleet.clock()
    fleet.clock()
    workers = [fleet.worker(), fleet.worker(), fleet.worker()]
    wait_for(lambda: len(rows(ledger, "end")) >= 4, 20, "runs on the workers")
    faults: dict[str, tuple[int, float]] = {}

    def busy(pool: list[ClockProcess]) -> tuple[ClockProcess, dict[str, Any]] | None:
        found = mid_run(ledger, {p.pid for p in pool})
        return (next(p for p in pool if p.pid == found["pid"]), found) if found else None

    # kill -9 a worker in the middle of a run
    a, victim = wait_for(lambda: busy(workers), 15, "a worker mid-run")
    a.signal(signal.SIGKILL)
    faults["kill"] = (a.pid, time.time())
    fleet.worker()
    time.sleep(2)
    # a daily restart: SIGTERM, with the replacement started at once
    b = next(w for w in workers if w is not a)
    b.signal(signal.SIGTERM)
    fleet.worker()
    assert b.wait(10) == 0
    time.sleep(1)
    # SIGSTOP past the worker lease (1 s), mid-run, then resume the zombie
    others = [w for w in fleet.workers if w.alive() and w is not b]
    c, _ = wait_for(lambda: busy(others), 15, "another worker mid-run")
    c.signal(signal.SIGSTOP)
    faults["stop"] = (c.pid, time.time())
    time.sleep(2.5)
    c.signal(signal.SIGCONT)
    # kill -9 the active clock
    pid = wait_for(lambda: active_pid(client, namespace), 10, "an active clock")
    next(p for p in fleet.clocks if p.pid == pid).signal(signal.SIGKILL)
    time.sleep(4)
    fleet.stop([p for p in fleet.clocks if p.alive()])
    time.sleep(2)  # the last claimed runs finish
    fleet.stop([w for w in fleet.workers if w.alive()])

    starts = rows(ledger, "start")
    ends = rows(ledger, "end")
    recs = records(client, namespace, "sec")
    claimed = {t: r for t, r in recs.items() if r.fence is not None}
    assert len(claimed) >= 8
    # every claimed run ended, with one accepted outcome: its last attempt's
    assert {r.status for r in claimed.values()} == {"ok"}, {
        t: r.status for t, r in claimed.items() if r.status != "ok"
    }
    by_tick: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for r in starts:
        by_tick[r["tick"]].append(r)
    for tick, rec in claimed.items():
        attempts = sorted(by_tick[tick], key=lambda r: r["attempt"])
        assert attempts, f"tick {tick} ended ok but never started"
        assert rec.fence == attempts[-1]["fence"] and rec.attempt == attempts[-1]["attempt"]
        fences = [r["fence"] for r in attempts]
        assert fences == sorted(set(fences)), f"fences of {tick} do not rise: {fences}"
        for earlier, later in itertools.pairwise(attempts):
            # a second execution only after a crash or a pause of the one before
            assert earlier["pid"] in {faults["kill"][0], faults["stop"][0]}, (tick, attempts)
            ended = [e for e in ends if (e["tick"], e["attempt"]) == (tick, earlier["attempt"])]
            if earlier["pid"] == faults["kill"][0]:
                assert not ended  # killed mid-run
                bound = faults["kill"][1] + 1.0 + 0.5 + 1.5  # lease, reaper pass, slack
            else:
                bound = faults["stop"][1] + 1.0 + 0.5 + 1.5
            assert later["t"] <= bound, (
                f"redelivery of {tick} started {later['t'] - bound:.2f}s late"
            )
    all_fences = [r["fence"] for r in starts]
    assert len(all_fences) == len(set(all_fences)), "a fence was granted twice"
    # the killed worker's run went to another, as attempt 2
    redelivered = [r for r in claimed.values() if (r.attempt or 1) > 1]
    assert victim["tick"] in {r.tick for r in redelivered}
    for rec in redelivered:
        tried = rec.attempt_list()
        assert [t.end for t in tried][:-1] and all(t.end == "died" for t in tried[:-1])
        assert tried[-1].end == "ok"
        # the new attempt's fence is above the first fences of ticks claimed before it
        redelivered_ms = rec.redelivered_ms or 0
        earlier = [
            first_fence(r)
            for r in claimed.values()
            if r.tick != rec.tick and r.claimed_ms < redelivered_ms
        ]
        assert rec.fence is not None and rec.fence > max(earlier)
    # the zombie's late outcomes were refused
    zombie = next(w for w in fleet.workers if w.pid == faults["stop"][0])
    assert zombie.events("worker_lease_lost")


def test_sigterm_hands_a_long_run_back_and_another_worker_takes_it(
    spawn: Callable[..., ClockProcess], client: redis.Redis, namespace: str, tmp_path: Path
) -> None:
    ledger = tmp_path / "runs.jsonl"
    fleet = Fleet(spawn, ledger, WORKER_SCHEDULES="long", WORKER_LONG_SECONDS="4")
    due_long_ago(client, namespace, "long")
    # both workers up before the run is claimed: under load a worker takes seconds to
    # import, longer than the run
    pair = [fleet.worker(), fleet.worker()]
    for w in pair:
        wait_for(lambda w=w: w.events("worker_started"), 15, "both workers")
    fleet.clock()
    (started,) = wait_for(lambda: rows(ledger, "start"), 15, "the long run to start")
    first, second = pair if pair[0].pid == started["pid"] else pair[::-1]
    t0 = time.monotonic()
    first.signal(signal.SIGTERM)
    assert first.wait(5) == 0
    assert time.monotonic() - t0 < 2.5  # inside its 1 s grace, plus process exit
    assert first.events("run_handed_back")
    again = wait_for(
        lambda: [r for r in rows(ledger, "start") if r["attempt"] == 2], 10, "attempt 2"
    )
    assert again[0]["pid"] == second.pid
    handed_at = time.time() - (time.monotonic() - t0)
    assert again[0]["t"] - handed_at < 1 + 1 + 1.5  # grace, hand-back delay, reaper pass
    wait_for(lambda: rows(ledger, "end"), 10, "attempt 2 to end")
    (rec,) = [r for r in records(client, namespace, "long").values() if r.fence]
    assert (rec.status, rec.attempt, rec.deliveries, rec.handed_back) == ("ok", 2, 0, 1)
    assert [t.end for t in rec.attempt_list()] == ["handed_back", "ok"]
    fleet.stop(fleet.clocks + fleet.workers)


def test_a_run_that_waited_past_its_max_lateness_is_missed_not_started(
    spawn: Callable[..., ClockProcess], client: redis.Redis, namespace: str, tmp_path: Path
) -> None:
    ledger = tmp_path / "runs.jsonl"
    fleet = Fleet(spawn, ledger, WORKER_SCHEDULES="late")  # every 2 s, max_lateness 2 s
    clock = fleet.clock()
    wait_for(lambda: clock.events("fire"), 10, "the first claim")
    first = min(records(client, namespace, "late"))
    time.sleep(3)  # no worker yet: the first run waits past its max lateness
    worker = fleet.worker()
    wait_for(lambda: worker.events("run_missed_in_queue"), 10, "the worker to record it missed")
    wait_for(lambda: rows(ledger, "end"), 10, "a later, timely run")
    fleet.stop(fleet.clocks + fleet.workers)
    rec = records(client, namespace, "late")[first]
    assert rec.status == "missed" and "max lateness" in (rec.error or "")
    assert first not in {r["tick"] for r in rows(ledger, "start")}


def test_a_run_that_kills_its_worker_is_lost_after_max_deliveries(
    spawn: Callable[..., ClockProcess], client: redis.Redis, namespace: str, tmp_path: Path
) -> None:
    ledger = tmp_path / "runs.jsonl"
    fleet = Fleet(spawn, ledger, WORKER_SCHEDULES="poison")
    client.hset(
        Store(client, namespace).keys.hwm, "poison", str(int(time.time() * 1000) - 3_600_000)
    )
    clock = fleet.clock()
    workers = [fleet.worker() for _ in range(3)]

    def lost() -> bool:
        return any(r.status == "lost" for r in records(client, namespace, "poison").values())

    wait_for(lost, 30, "the poison run to be lost")
    assert len(rows(ledger, "start")) == 3  # delivered max_deliveries times, no more
    assert sum(not w.alive() for w in workers) == 3
    assert len(clock.events("run_lost")) == 1 and len(clock.events("run_redelivered")) == 2
    fleet.stop(fleet.clocks)


def test_a_failing_run_is_retried_as_asked_then_recorded_error(
    spawn: Callable[..., ClockProcess], client: redis.Redis, namespace: str, tmp_path: Path
) -> None:
    ledger = tmp_path / "runs.jsonl"
    fleet = Fleet(spawn, ledger, WORKER_SCHEDULES="flaky")
    client.hset(
        Store(client, namespace).keys.hwm, "flaky", str(int(time.time() * 1000) - 3_600_000)
    )
    fleet.clock()
    worker = fleet.worker()

    def final() -> RunRecord | None:
        done = [r for r in records(client, namespace, "flaky").values() if r.status == "error"]
        return done[0] if done else None

    rec = wait_for(final, 20, "the last retry")
    assert [r["attempt"] for r in rows(ledger, "start")] == [1, 2, 3]
    assert rec.attempt == 3 and rec.error == "RuntimeError: attempt 3 failed"
    assert len(worker.events("run_retry")) == 2
    fleet.stop(fleet.clocks + fleet.workers)


def test_workers_consume_only_their_queues(
    spawn: Callable[..., ClockProcess], client: redis.Redis, namespace: str, tmp_path: Path
) -> None:
    ledger = tmp_path / "runs.jsonl"
    fleet = Fleet(spawn, ledger, WORKER_SCHEDULES="every2s,reports")
    fleet.clock()
    default = fleet.worker("--queues", "default")
    reports = fleet.worker("--queues", "reports", "--concurrency", "1")
    wait_for(
        lambda: {r["schedule"] for r in rows(ledger, "end")} == {"every2s", "reports"},
        15,
        "runs of both queues",
    )
    fleet.stop(fleet.clocks + fleet.workers)
    for r in rows(ledger, "start"):
        assert r["pid"] == (reports.pid if r["schedule"] == "reports" else default.pid)


def test_a_runs_check_in_stays_open_across_attempts_and_redelivery_is_reported(
    spawn: Callable[..., ClockProcess],
    client: redis.Redis,
    namespace: str,
    tmp_path: Path,
    sentry: SentryReceiver,
) -> None:
    ledger = tmp_path / "runs.jsonl"
    fleet = Fleet(
        spawn, ledger, WORKER_SCHEDULES="minute_long", WORKER_LONG_SECONDS="3",
        SENTRY_DSN=sentry.dsn,
    )  # fmt: skip
    mark = str(int(time.time() * 1000) - 120_000)
    client.hset(Store(client, namespace).keys.hwm, "minute_long", mark)
    first = fleet.worker()
    fleet.clock()
    wait_for(lambda: rows(ledger, "start"), 15, "the run to start")
    fleet.worker()
    first.signal(signal.SIGKILL)
    wait_for(lambda: rows(ledger, "end"), 20, "attempt 2 to end")
    sentry.wait(lambda s: any(c["status"] == "ok" for c in s.checkins()), 10, "the closing one")
    fleet.stop(fleet.clocks + fleet.workers)
    # the killed worker's in_progress may not have left its process before the kill
    checkins = sentry.checkins()
    assert [c["status"] for c in checkins][-2:] == ["in_progress", "ok"]
    assert len(checkins) in (2, 3) and checkins[0]["status"] == "in_progress"
    assert len({c["check_in_id"] for c in checkins}) == 1  # one monitor run, two attempts
    (event,) = sentry.events("redelivered")
    assert event["tags"]["schedule"] == "minute_long"
    assert event["contexts"]["lockclock_run"]["attempt"] == 2


def test_status_and_history_show_workers_queues_and_attempts(
    spawn: Callable[..., ClockProcess],
    redis_server: RedisServer,
    namespace: str,
    tmp_path: Path,
) -> None:
    ledger = tmp_path / "runs.jsonl"
    fleet = Fleet(spawn, ledger, WORKER_SCHEDULES="sec")
    fleet.clock()
    worker = fleet.worker()
    wait_for(lambda: len(rows(ledger, "end")) >= 2, 15, "runs on the worker")
    env = clock_env(redis_server.url, namespace)
    st = json.loads(cli_in_process("status", "--json", env=env).stdout)
    (w,) = st["workers"]
    assert w["alive"] and w["pid"] == worker.pid and w["queues"] == ["default"]
    assert w["kind"] == "worker" and w["heartbeat_age_s"] < 3
    assert [q["queue"] for q in st["queues"]] == ["default"]
    (sched,) = st["schedules"]
    assert (sched["queue"], sched["dispatch"], sched["overlap"]) == ("default", "workers", "allow")
    human = cli_in_process("status", env=env).stdout
    assert "workers (1):" in human and str(worker.pid) in human
    hist = cli_in_process("history", "sec", "--limit", "5", env=env)
    assert hist.returncode == 0 and "TRY" in hist.stdout and "QUEUED" in hist.stdout
    assert str(worker.pid) in hist.stdout  # where each ran
    records = json.loads(cli_in_process("history", "sec", "--json", env=env).stdout)
    done = [r for r in records if r["status"] == "ok"]
    assert done and all(r["attempts"][0]["worker"].split(":")[-2] == str(worker.pid) for r in done)
    fleet.stop(fleet.clocks + fleet.workers)


def test_worker_user_errors_are_one_line(redis_server: RedisServer, namespace: str) -> None:
    env = clock_env(redis_server.url, namespace, WORKER_LEDGER="/dev/null", WORKER_SCHEDULES="sec")
    res = run_cli("worker", APP, "--queues", "nope", env=env)
    assert res.returncode == 2 and "Traceback" not in res.stdout + res.stderr
    (line,) = res.stderr.strip().splitlines()
    assert "none of the app's schedules use the queues nope" in line and "default" in line
    res = run_cli("worker", "no_such_app", env=env)
    assert res.returncode == 2 and "no_such_app" in res.stderr
    res = run_cli("worker", APP, "--concurrency", "0", env=env)
    assert res.returncode == 2 and "--concurrency" in res.stderr

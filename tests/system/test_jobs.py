"""Running jobs: async and sync, failures, and stopping with jobs in flight."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import redis

from tests.sentry_receiver import SentryReceiver
from tests.support import (
    ROOT,
    ClockProcess,
    RedisServer,
    active_pid,
    cli_in_process,
    clock_env,
    history,
    read_ledger,
    run_cli,
    standby_pids,
    wait_for,
)


def test_async_jobs_failures_and_context(
    spawn: Callable[..., ClockProcess], client: redis.Redis, namespace: str, tmp_path: Path
) -> None:
    proc = spawn(LEDGER_SCHEDULES="async,fail")
    ledger = tmp_path / "ledger.jsonl"
    wait_for(
        lambda: (
            {"async", "fail"} <= {r["schedule"] for r in read_ledger(ledger)}
            and len(proc.events("job_failed")) >= 2
        ),
        15,
        "both jobs to run twice",
    )
    proc.signal(signal.SIGTERM)
    assert proc.wait(10) == 0
    rows = read_ledger(ledger)
    for r in rows:  # current_run() gave each job its own tick, fence and lateness
        assert r["tick"] % 1000 == 0 and r["fence"] > 0 and 0 <= r["late"] < 1.0
    errors = [h for h in history(client, namespace, "fail", 100) if h["status"] == "error"]
    assert len(errors) >= 2
    assert all(h["error"] == f"RuntimeError: boom at fence {h['fence']}" for h in errors)
    assert all(
        h["status"] in ("ok", "interrupted") for h in history(client, namespace, "async", 100)
    )
    assert "Traceback" in proc.log() and "RuntimeError: boom" in proc.log()


@pytest.mark.serial
def test_sigterm_hands_off_at_once_and_lets_the_job_finish(
    spawn: Callable[..., ClockProcess], client: redis.Redis, namespace: str, tmp_path: Path
) -> None:
    a = spawn(LEDGER_SCHEDULES="every2s", LEDGER_JOB_SECONDS="3")
    wait_for(lambda: active_pid(client, namespace) == a.pid, 10, "a to be active")
    b = spawn(LEDGER_SCHEDULES="every2s", LEDGER_JOB_SECONDS="3")
    ledger = tmp_path / "ledger.jsonl"
    wait_for(lambda: read_ledger(ledger), 10, "a job to start")
    wait_for(lambda: b.pid in standby_pids(client, namespace), 10, "b to stand by")
    time.sleep(0.3)
    a.signal(signal.SIGTERM)
    wait_for(lambda: active_pid(client, namespace) == b.pid, 1.0, "b to take over at once")
    assert a.wait(10) == 0
    assert a.events("waiting_for_jobs") and not a.events("run_interrupted")
    a_runs = [
        h
        for h in history(client, namespace, "every2s", 100)
        if h["clock"].split(":")[-2] == str(a.pid) and h.get("fence")  # runs, not skips
    ]
    assert a_runs and all(h["status"] == "ok" for h in a_runs)
    # the standby's next tick was not delayed by the handoff
    wait_for(lambda: b.events("fire"), 5, "b to fire")
    assert all(int(ln.split("late_ms=")[1].split()[0]) < 500 for ln in b.events("fire"))


def test_grace_period_bounds_shutdown(
    spawn: Callable[..., ClockProcess], client: redis.Redis, namespace: str, tmp_path: Path
) -> None:
    a = spawn(LEDGER_SCHEDULES="every2s", LEDGER_JOB_SECONDS="30", LOCKCLOCK_GRACE="1")
    wait_for(lambda: read_ledger(tmp_path / "ledger.jsonl"), 10, "the long job to start")
    t0 = time.monotonic()
    a.signal(signal.SIGTERM)
    assert a.wait(10) == 0
    assert time.monotonic() - t0 < 3
    assert len(a.events("run_interrupted")) == 1
    hist = history(client, namespace, "every2s", 10)
    assert hist[0]["status"] == "interrupted"


def test_embedded_default_is_shared_by_local_clocks(tmp_path: Path) -> None:
    """With REDIS_URL unset, clocks start (or reuse) one local real redis-server."""
    home = tmp_path / "emb"
    env = clock_env("", "emb", LOCKCLOCK_EMBEDDED_DIR=str(home), LOCKCLOCK_LEASE_TTL="1",
                    LEDGER_FILE=str(tmp_path / "ledger.jsonl"))  # fmt: skip
    env.pop("REDIS_URL")
    procs = [
        ClockProcess("tests.apps.ledger_app", env, tmp_path / f"e{i}.log").start() for i in range(2)
    ]
    try:
        wait_for(lambda: len(read_ledger(tmp_path / "ledger.jsonl")) >= 3, 20, "runs")
        for p in procs:
            (line,) = p.events("embedded_redis")
            assert "development" in line and "REDIS_URL" in line
        assert sum("started=True" in p.events("embedded_redis")[0] for p in procs) == 1
        for p in procs:
            p.signal(signal.SIGTERM)
            assert p.wait(10) == 0
        ticks = [r["tick"] for r in read_ledger(tmp_path / "ledger.jsonl")]
        assert len(ticks) == len(set(ticks))
        status = run_cli("status", "--json", env=env)
        assert status.returncode == 0, status.stderr
        assert '"name": "sec"' in status.stdout
    finally:
        for p in procs:
            p.ensure_dead()
        pidfile = home / "redis.pid"
        if pidfile.exists():
            os.kill(int(pidfile.read_text()), signal.SIGTERM)
        shutil.rmtree(home, ignore_errors=True)


def test_a_run_whose_clock_was_killed_shows_as_lost(
    spawn: Callable[..., ClockProcess], redis_server: RedisServer, namespace: str, tmp_path: Path
) -> None:
    a = spawn(LEDGER_SCHEDULES="every2s", LEDGER_JOB_SECONDS="60")
    wait_for(lambda: read_ledger(tmp_path / "ledger.jsonl"), 10, "the long job to start")
    a.signal(signal.SIGKILL)
    a.wait(5)
    env = clock_env(redis_server.url, namespace)

    def history() -> list[dict[str, object]]:
        return json.loads(cli_in_process("history", "every2s", "--json", env=env).stdout)

    assert history()[0]["status"] == "running"  # its clock's heartbeat is still fresh
    wait_for(lambda: history()[0]["status"] == "lost", 10, "the run to show as lost", 0.5)
    st = json.loads(cli_in_process("status", "--json", env=env).stdout)
    assert [c["alive"] for c in st["clocks"]] == [False]
    assert st["schedules"][0]["last"]["status"] == "lost"
    human = cli_in_process("status", env=env)
    assert " gone " in human.stdout and "active clock: none" in human.stdout


def test_the_clock_taking_over_records_a_killed_inline_clocks_run_lost_once(
    spawn: Callable[..., ClockProcess],
    client: redis.Redis,
    namespace: str,
    tmp_path: Path,
    sentry: SentryReceiver,
) -> None:
    a = spawn(LEDGER_SCHEDULES="every2s", LEDGER_JOB_SECONDS="60", SENTRY_DSN=sentry.dsn)
    wait_for(lambda: read_ledger(tmp_path / "ledger.jsonl"), 10, "the long job to start")
    tick = read_ledger(tmp_path / "ledger.jsonl")[0]["tick"]
    a.signal(signal.SIGKILL)
    b = spawn(LEDGER_SCHEDULES="every2s", SENTRY_DSN=sentry.dsn)
    wait_for(lambda: b.events("run_lost"), 15, "the run to be recorded lost")
    stored = next(h for h in history(client, namespace, "every2s", 100) if h["tick"] == tick)
    assert stored["status"] == "lost" and "clock stopped" in stored["error"]
    wait_for(lambda: len(read_ledger(tmp_path / "ledger.jsonl")) >= 3, 10, "later runs")
    assert len(b.events("run_lost")) == 1
    (event,) = sentry.wait(lambda s: s.events("lost"), 10, "the lost-run event")
    assert event["level"] == "error" and event["tags"]["schedule"] == "every2s"


def test_the_taker_ends_a_dead_clocks_run_before_its_first_claim(
    spawn: Callable[..., ClockProcess], client: redis.Redis, namespace: str, tmp_path: Path
) -> None:
    """The ticks the taking-over clock finds due run: they are not skipped (overlap
    "skip") behind the dead clock's run, which nobody runs any more. Nobody reached
    Redis for 4 s, which Redis cannot tell from a stall: the taker holds its claims
    until the dead clock's worker lease is known lapsed for good."""
    a = spawn(LEDGER_SCHEDULES="every2s", LEDGER_JOB_SECONDS="60")
    wait_for(lambda: read_ledger(tmp_path / "ledger.jsonl"), 10, "the long job to start")
    a.signal(signal.SIGKILL)
    a.wait(5)
    time.sleep(4)  # its clock lease (2 s) and worker lease (3 s) lapse
    b = spawn(LEDGER_SCHEDULES="every2s")
    wait_for(lambda: b.events("run_lost"), 15, "the run to be recorded lost")
    wait_for(lambda: len(read_ledger(tmp_path / "ledger.jsonl")) >= 2, 10, "a run on b")
    assert not b.events("run_skipped"), b.events("run_skipped")
    assert b.events("claims_held")
    statuses = {h["status"] for h in history(client, namespace, "every2s", 100)}
    assert "skipped" not in statuses, statuses


def test_dev_supervisor_restarts_a_killed_clock(
    redis_server: RedisServer, namespace: str, tmp_path: Path
) -> None:
    """`make run`'s supervisor: kill -9 a clock, the other takes over, a new one starts."""
    ledger = tmp_path / "ledger.jsonl"
    env = clock_env(redis_server.url, namespace, LEDGER_FILE=str(ledger), LOCKCLOCK_LEASE_TTL="1")
    out = tmp_path / "supervisor.log"
    with open(out, "wb") as sink:
        sup = subprocess.Popen(
            [sys.executable, "scripts/clocks.py", "--clocks", "2", "tests.apps.ledger_app:clock"],
            env=env, cwd=ROOT, stdout=sink, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        client = redis_server.client()
        pid = wait_for(lambda: active_pid(client, namespace), 15, "an active clock")
        os.kill(pid, signal.SIGKILL)
        wait_for(lambda: out.read_text().count(" started (pid=") >= 3, 10, "a restarted clock")
        wait_for(
            lambda: (active_pid(client, namespace) or pid) != pid, 10, "the other to take over"
        )
        time.sleep(2)
        sup.send_signal(signal.SIGTERM)
        assert sup.wait(30) == 0
        text = out.read_text()
        assert "clock.1 " in text and "clock.2 " in text and "rc=-9" in text
        assert text.count("event=clock_stopped") == 2  # both survivors stopped gracefully
        ticks = [r["tick"] for r in read_ledger(ledger)]
        assert len(ticks) == len(set(ticks)) and ticks
    finally:
        if sup.poll() is None:
            sup.kill()

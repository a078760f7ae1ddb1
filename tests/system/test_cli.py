"""The CLI as users meet it: real subprocesses, real exit codes, one-line errors."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from lockclock.coordination.keys import LAYOUT_VERSION, Keys
from tests.support import (
    ROOT,
    ClockProcess,
    RedisServer,
    clock_env,
    free_port,
    run_cli,
    wait_for,
)


def lockclock(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return run_cli(*args, env=env or clock_env("redis://127.0.0.1:1/0", "cli"))


def assert_user_error(res: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert res.returncode == 2, (res.returncode, res.stdout, res.stderr)
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), res.stderr
    assert "Traceback" not in res.stderr + res.stdout
    for needle in needles:
        assert needle in lines[0], lines[0]


@pytest.mark.parametrize("command", ["run", "check"])
def test_bad_cron_fails_with_one_line(command: str) -> None:
    res = lockclock(command, "tests.apps.bad_cron")
    assert_user_error(res, "61 * * * *", "job")


@pytest.mark.parametrize("command", ["run", "check"])
def test_unknown_zone(command: str) -> None:
    assert_user_error(lockclock(command, "tests.apps.bad_zone"), "Mars/Base", "IANA")


def test_module_that_cannot_be_imported() -> None:
    res = lockclock("run", "tests.apps.broken_import")
    assert_user_error(res, "tests.apps.broken_import", "a_module_that_does_not_exist")
    assert_user_error(lockclock("check", "no_such_app"), "no_such_app")


def test_attr_that_is_not_a_clock() -> None:
    assert_user_error(lockclock("run", "tests.apps.simple:nightly"), "not a lockclock.Clock")


def test_bad_setting() -> None:
    env = clock_env("redis://127.0.0.1:1/0", "cli", LOCKCLOCK_LEASE_TTL="soon", LEDGER_FILE="x")
    assert_user_error(lockclock("run", "tests.apps.ledger_app", env=env), "LOCKCLOCK_LEASE_TTL")
    env = clock_env("http://example/0", "cli", LEDGER_FILE="x")
    assert_user_error(lockclock("run", "tests.apps.ledger_app", env=env), "REDIS_URL")


def test_wrong_password_exits_2_without_leaking_it(tmp_path: Path) -> None:
    server = RedisServer(tmp_path / "r", password="s3cret-pw")
    server.start()
    try:
        bad = f"redis://:wrong-pw@127.0.0.1:{server.port}/0"
        env = clock_env(bad, "cli", LEDGER_FILE=str(tmp_path / "l"))
        res = lockclock("run", "tests.apps.ledger_app:clock", env=env)
        assert "wrong-pw" not in res.stdout + res.stderr
        assert_user_error(res, "password")
        res = lockclock("status", env=env)
        assert_user_error(res, "password")
        # a server that wants a password, and a URL without one
        env = clock_env(f"redis://127.0.0.1:{server.port}/0", "cli", LEDGER_FILE="x")
        assert_user_error(lockclock("run", "tests.apps.ledger_app:clock", env=env), "password")
        # an ACL user that may not run scripts
        server.client().acl_setuser(
            "reader", enabled=True, passwords=["+readpw"], keys=["*"], commands=["+@read", "+ping"]
        )
        env = clock_env(f"redis://reader:readpw@127.0.0.1:{server.port}/0", "cli", LEDGER_FILE="x")
        res = lockclock("run", "tests.apps.ledger_app:clock", env=env)
        assert_user_error(res, "ACL")
        assert "readpw" not in res.stdout + res.stderr
    finally:
        server.stop()


def test_check_prints_next_instants_utc_and_local() -> None:
    res = lockclock("check", "tests.apps.simple", "--from", "2026-03-07T00:00:00+00:00",
                    "--count", "2", "--json")  # fmt: skip
    assert res.returncode == 0, res.stderr
    report = {s["name"]: s for s in json.loads(res.stdout)}
    nightly = report["nightly"]["next"]
    assert nightly[0] == {"utc": "2026-03-07T09:30:00+00:00", "local": "2026-03-07T04:30:00-05:00"}
    # spring-forward night: same wall time, one hour less in UTC
    assert nightly[1] == {"utc": "2026-03-08T08:30:00+00:00", "local": "2026-03-08T04:30:00-04:00"}
    assert [n["utc"] for n in report["quarter"]["next"]] == [
        "2026-03-07T00:15:00+00:00",
        "2026-03-07T00:30:00+00:00",
    ]
    human = lockclock("check", "tests.apps.simple")
    assert human.returncode == 0 and "2 schedule(s) OK" in human.stdout


def test_version_and_help() -> None:
    res = lockclock("--version")
    assert res.returncode == 0 and "lockclock, version" in res.stdout
    res = lockclock("--help")
    assert res.returncode == 0
    for cmd in ("run", "check", "status", "history"):
        assert cmd in res.stdout


def test_unreachable_redis_retries_until_it_appears(
    spawn: Callable[..., ClockProcess], tmp_path: Path
) -> None:
    """A clock started before its Redis logs the problem, keeps retrying, and recovers."""
    server = RedisServer(tmp_path / "late")
    proc = spawn(REDIS_URL=server.url)
    wait_for(lambda: proc.events("redis_unavailable"), 10, "a redis_unavailable line")
    assert proc.alive()
    server.start()
    try:
        wait_for(lambda: proc.events("fire"), 15, "the first fire once Redis is up")
        # and again when Redis goes away and comes back while the clock is active
        server.stop(signal.SIGKILL)
        n = len(proc.events("redis_unavailable"))
        wait_for(lambda: len(proc.events("redis_unavailable")) > n, 10, "the outage noticed")
        server.start()
        fires = len(proc.events("fire"))
        wait_for(lambda: len(proc.events("fire")) > fires + 1, 15, "fires after recovery")
        assert proc.events("redis_available")
        proc.signal(signal.SIGTERM)
        assert proc.wait(10) == 0
        assert "Traceback" not in proc.log()
    finally:
        server.stop()


def test_status_and_history(
    spawn: Callable[..., ClockProcess], redis_server: RedisServer, namespace: str
) -> None:
    a, b = spawn(), spawn()
    env = clock_env(redis_server.url, namespace)
    wait_for(lambda: a.events("fire") or b.events("fire"), 10, "a fire")
    wait_for(lambda: len(a.events("fire") + b.events("fire")) >= 3, 10, "three fires")
    res = lockclock("status", "--json", env=env)
    assert res.returncode == 0, res.stderr
    st = json.loads(res.stdout)
    pids = {a.pid, b.pid}
    assert {c["pid"] for c in st["clocks"]} == pids
    assert sorted(c["role"] for c in st["clocks"]) == ["active", "standby"]
    assert st["active"]["clock"] and st["active"]["epoch"] >= 1
    (sched,) = st["schedules"]
    assert sched["name"] == "sec" and sched["last"]["status"] in ("ok", "running")
    assert sched["next_tick"] is not None
    human = lockclock("status", env=env)
    assert "active clock:" in human.stdout and "sec:" in human.stdout
    hist = lockclock("history", "sec", "--limit", "2", "--json", env=env)
    runs = json.loads(hist.stdout)
    assert len(runs) == 2 and runs[0]["tick"] > runs[1]["tick"] and runs[0]["fence"] > 0
    text = lockclock("history", "sec", env=env)
    assert "FENCE" in text.stdout and text.returncode == 0
    # an operator's view does not depend on the alerting configuration
    bad_dsn = {**env, "SENTRY_DSN": "not a dsn"}
    assert lockclock("status", env=bad_dsn).returncode == 0
    assert lockclock("history", "sec", env=bad_dsn).returncode == 0
    assert_user_error(lockclock("history", "nope", env=env), "nope")


def test_unused_port_is_unreachable() -> None:
    env = clock_env(f"redis://127.0.0.1:{free_port()}/0", "cli")
    res = lockclock("status", env=env)
    assert res.returncode == 1 and "unreachable" in res.stderr and "Traceback" not in res.stderr


def test_status_without_redis_url_or_a_development_redis(tmp_path: Path) -> None:
    env = clock_env("", "cli", LOCKCLOCK_EMBEDDED_DIR=str(tmp_path / "none"))
    env.pop("REDIS_URL")
    assert_user_error(lockclock("status", env=env), "no development Redis", "REDIS_URL")


def test_status_shows_next_ticks_before_the_first_run(
    redis_server: RedisServer, namespace: str, tmp_path: Path
) -> None:
    env = clock_env(redis_server.url, namespace)
    proc = ClockProcess("tests.apps.simple", env, tmp_path / "c.log").start()
    try:
        wait_for(lambda: proc.events("lease_acquired"), 10, "the lease")
        st = json.loads(lockclock("status", "--json", env=env).stdout)
        nexts = {s["name"]: s["next_tick"] for s in st["schedules"]}
        assert set(nexts) == {"nightly", "quarter"} and all(nexts.values()), nexts
        assert all(s["last"] is None for s in st["schedules"])
    finally:
        proc.signal(signal.SIGTERM)
        assert proc.wait(10) == 0


def test_clock_arguments_beat_the_environment_and_flags_beat_both(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    """The README's precedence: flag, then Clock(...) argument, then environment."""
    env = clock_env(redis_server.url, "from-env")

    def namespace_used(*flags: str) -> str:
        log = tmp_path / f"ns{len(flags)}.log"
        with open(log, "wb") as sink:
            proc = subprocess.Popen(
                [sys.executable, "-m", "lockclock", "run", "tests.apps.namespaced", *flags],
                env=env, cwd=ROOT, stdout=sink, stderr=subprocess.STDOUT,
            )  # fmt: skip
        try:
            line = wait_for(
                lambda: next((x for x in log.read_text().splitlines() if "event=redis " in x), ""),
                10,
                "the redis line",
            )
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(10)
        return line.split("namespace=")[1].split()[0]

    assert namespace_used() == "from-code"
    assert namespace_used("--namespace", "from-flag") == "from-flag"


def test_a_namespace_in_another_key_layout_stops_the_clock_with_one_line(
    redis_server: RedisServer, namespace: str, tmp_path: Path
) -> None:
    client = redis_server.client()
    client.set(Keys(namespace).layout, "3")
    env = clock_env(redis_server.url, namespace, LEDGER_FILE=str(tmp_path / "ledger.jsonl"))
    res = lockclock("run", "tests.apps.ledger_app:clock", env=env)
    assert_user_error(res, "key layout 3", f"layout {LAYOUT_VERSION}", "LOCKCLOCK_NAMESPACE")
    assert not client.exists(Keys(namespace).lease)


def test_a_schedule_published_under_the_old_six_field_reading_stops_the_clock(
    redis_server: RedisServer, namespace: str, tmp_path: Path
) -> None:
    client = redis_server.client()
    # a build before layout 2 ran 'sec' ('* * * * * *') and its own 'poll'; the seconds
    # field moved, so an app still saying '0 * * * * *' means another schedule now
    client.hset(
        Keys(namespace).legacy_schedules,
        "sec",
        json.dumps({"trigger": "cron '0 * * * * *' in UTC"}),
    )
    env = clock_env(
        redis_server.url, namespace, LEDGER_FILE=str(tmp_path / "ledger.jsonl"),
        LEDGER_SCHEDULES="sec", LEDGER_SEC_CRON="0 * * * * *",
    )  # fmt: skip
    res = lockclock("run", "tests.apps.ledger_app:clock", env=env)
    assert_user_error(
        res, "'sec'", "seconds last (Every second, at 0 minutes past the hour)", "(Every minute)"
    )
    assert not client.exists(Keys(namespace).lease)

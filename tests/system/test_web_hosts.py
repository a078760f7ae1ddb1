"""The clock embedded in real web hosts, as the README's snippets start it.

gunicorn (the sync worker): each worker imports the app, so each runs a clock; with
`--preload` the master imports it once and every forked worker starts its own under a new
id. Through a worker killed with -9, workers recycled by `--max-requests` and a graceful
shutdown of the master, each tick fires exactly once and none is lost; a recycled worker
releases its lease, so a standby takes over at once rather than after the lease's TTL.

Django's `runserver` and `flask run --debug` serve from a reloader's child: only that
child runs a clock, a reload stops it gracefully and its successor starts another, and a
management command (`migrate`) runs none."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from pathlib import Path

import pytest
import redis

from lockclock.coordination.store import Store
from tests.support import (
    ROOT,
    RedisServer,
    active_pid,
    clock_env,
    free_port,
    log_events,
    wait_for,
)
from tests.system.test_embedding import ledger_ticks

LEASE_TTL_S = 4  # long enough that a release and a lapse are told apart by the handoff


PYTHON_M = (sys.executable, "-m")


def host_env(
    redis_server: RedisServer, namespace: str, ledger: Path, **extra: str
) -> dict[str, str]:
    """A web host's environment: worker_app's per-second schedule writing to `ledger`."""
    return clock_env(
        redis_server.url, namespace, WORKER_SCHEDULES="sec", WORKER_LEDGER=str(ledger),
        WORKER_JOB_SECONDS="0.05", LOCKCLOCK_LEASE_TTL=str(LEASE_TTL_S), **extra,
    )  # fmt: skip


class Gunicorn:
    """One `gunicorn` master serving tests/apps/gunicorn_app.py, its log in a file."""

    def __init__(
        self, redis_server: RedisServer, namespace: str, tmp_path: Path, *args: str, **env: str
    ) -> None:
        self.ledger = tmp_path / "ledger.jsonl"
        self.log = tmp_path / "gunicorn.log"
        self.port = free_port()
        options = host_env(redis_server, namespace, self.ledger, **env)
        self.proc = subprocess.Popen(
            [
                sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{self.port}",
                "--graceful-timeout", "20", "--no-control-socket", *args,
                "tests.apps.gunicorn_app:app",
            ],
            cwd=ROOT, env=options, stdout=self.log.open("w"), stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip

    def get(self) -> dict[str, object]:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/", timeout=5) as response:
            body: dict[str, object] = json.loads(response.read())
        return body

    def events(self, name: str) -> list[dict[str, str]]:
        return log_events(self.log, name)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(40)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def live_clocks(client: redis.Redis, namespace: str) -> dict[int, str]:
    """pid -> clock id of every registered clock whose process is alive."""
    return {c.pid: c.id for c in Store(client, namespace).clocks.all() if alive(c.pid)}


def assert_each_tick_once(ledger: Path) -> None:
    ticks = ledger_ticks(ledger)
    assert ticks, "no tick ran"
    twice = [t for t, n in Counter(ticks).items() if n > 1]
    assert twice == [], "a tick ran twice"
    assert sorted(ticks) == list(range(min(ticks), max(ticks) + 1000, 1000)), "a tick was lost"


def test_gunicorn_workers_fire_each_tick_once_through_a_kill_recycling_and_shutdown(
    redis_server: RedisServer, client: redis.Redis, namespace: str, tmp_path: Path
) -> None:
    server = Gunicorn(redis_server, namespace, tmp_path, "--workers", "3", "--max-requests", "4")
    try:
        wait_for(lambda: len(live_clocks(client, namespace)) == 3, 30, "three workers' clocks")
        assert server.proc.pid not in live_clocks(client, namespace)  # the master runs none
        wait_for(lambda: len(ledger_ticks(server.ledger)) >= 3, 20, "ticks")

        # a worker killed with -9: gunicorn starts another, and a standby takes over
        killed = active_pid(client, namespace)
        assert killed is not None
        os.kill(killed, signal.SIGKILL)
        wait_for(lambda: active_pid(client, namespace) not in (None, killed), 15, "takeover")
        wait_for(lambda: len(live_clocks(client, namespace)) == 3, 30, "a replacement worker")

        # recycling: requests until the active worker reaches --max-requests and exits
        recycled = active_pid(client, namespace)
        assert recycled is not None
        recycled_id = live_clocks(client, namespace)[recycled]
        deadline = time.monotonic() + 60
        while alive(recycled) and time.monotonic() < deadline:
            try:
                server.get()
            except OSError:
                time.sleep(0.05)  # a worker between exit and its replacement
        assert not alive(recycled), "the active worker was not recycled"
        exited = time.monotonic()
        wait_for(lambda: active_pid(client, namespace) not in (None, recycled), 10, "handoff")
        assert time.monotonic() - exited < LEASE_TTL_S / 2  # released, not waited out
        assert any(e["clock"] == recycled_id for e in server.events("lease_released"))

        def heirs() -> list[dict[str, str]]:
            return [
                e for e in server.events("lease_acquired") if e.get("prev_clock") == recycled_id
            ]

        taken = wait_for(heirs, 5, "the heir's log line")
        assert [e["how"] for e in taken] == ["released"]
        wait_for(lambda: len(live_clocks(client, namespace)) == 3, 30, "the recycled one's heir")
        time.sleep(2)
        last_active = active_pid(client, namespace)
    finally:
        code = server.stop()
    assert code == 0
    # every worker the master stopped stopped its clock and released what it held
    stopped = {e["clock"] for e in server.events("clock_stopped")}
    assert recycled_id in stopped
    assert any(
        e["clock"].split(":")[-2] == str(last_active) for e in server.events("lease_released")
    )
    assert live_clocks(client, namespace) == {}
    assert client.hget(Store(client, namespace).keys.lease, "clock") is None
    assert_each_tick_once(server.ledger)


@pytest.mark.parametrize("starts", ["import", "post_fork"])
def test_gunicorn_preload_runs_a_clock_per_worker_under_new_ids(
    redis_server: RedisServer, client: redis.Redis, namespace: str, tmp_path: Path, starts: str
) -> None:
    """Started at import, the master's clock is copied by fork: each worker starts its own
    under a new id, and the master's goes on (one more clock). Started in `post_fork`
    (tests/apps/gunicorn_conf.py), only the workers run one."""
    conf = ["--config", "python:tests.apps.gunicorn_conf"] if starts == "post_fork" else []
    server = Gunicorn(
        redis_server, namespace, tmp_path, "--workers", "2", "--preload", *conf,
        GUNICORN_CLOCK_STARTS=starts,
    )  # fmt: skip
    expected = 3 if starts == "import" else 2
    try:
        wait_for(lambda: len(live_clocks(client, namespace)) == expected, 30, "the clocks")
        clocks = live_clocks(client, namespace)
        assert (server.proc.pid in clocks) == (starts == "import")
        workers = {pid: cid for pid, cid in clocks.items() if pid != server.proc.pid}
        assert len(set(workers.values())) == 2
        answers = {}
        while len(answers) < 2:  # each worker answers with its own clock, not the master's
            body = server.get()
            answers[body["pid"]] = body["clock"]
        assert answers == workers
        wait_for(lambda: len(ledger_ticks(server.ledger)) >= 4, 20, "ticks")
        ran_in = {json.loads(line)["pid"] for line in server.ledger.read_text().splitlines()}
        assert ran_in <= set(clocks)
    finally:
        code = server.stop()
    assert code == 0
    assert live_clocks(client, namespace) == {}
    assert_each_tick_once(server.ledger)


def reloading_host(
    redis_server: RedisServer,
    namespace: str,
    tmp_path: Path,
    site: str,
    *command: str,
) -> tuple[subprocess.Popen[str], Path, Path]:
    """Copy tests/apps/<site> to tmp_path (so its files can be touched) and run `command`
    on it; return the process, the copy and its log. The ledger is tmp_path/ledger.jsonl."""
    shutil.copytree(ROOT / "tests" / "apps" / site, tmp_path / site)
    log = tmp_path / f"{site}.log"
    env = host_env(
        redis_server, namespace, tmp_path / "ledger.jsonl",
        PYTHONPATH=f"{tmp_path}{os.pathsep}{ROOT}",
        DJANGO_SETTINGS_MODULE="django_site.settings", DJANGO_DB=str(tmp_path / "db.sqlite3"),
    )  # fmt: skip
    proc = subprocess.Popen(
        list(command), cwd=tmp_path, env=env, stdout=log.open("w"),
        stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )  # fmt: skip
    return proc, tmp_path / site, log


def reload_once_and_stop(
    client: redis.Redis,
    namespace: str,
    proc: subprocess.Popen[str],
    touch: Path,
    log: Path,
    ledger: Path,
) -> None:
    """One clock, in the reloader's child; touching a source file reloads it: the old
    child stops its clock and releases the lease, the new one takes it at once."""
    try:
        wait_for(lambda: live_clocks(client, namespace), 30, "the serving child's clock")
        time.sleep(1.5)  # room for a clock in the reloader's own process to show up
        clocks = live_clocks(client, namespace)
        assert len(clocks) == 1, f"one clock, not {clocks}"
        (first_pid, first_id) = next(iter(clocks.items()))
        assert first_pid != proc.pid  # the reloader's child, not the reloader
        wait_for(lambda: len(ledger_ticks(ledger)) >= 2, 20, "ticks")
        os.utime(touch)
        wait_for(lambda: not alive(first_pid), 20, "the old child to exit")
        wait_for(lambda: live_clocks(client, namespace), 30, "the new child's clock")
        ((second_pid, second_id),) = live_clocks(client, namespace).items()
        assert second_pid not in (first_pid, proc.pid) and second_id != first_id
        wait_for(lambda: active_pid(client, namespace) == second_pid, 10, "the new lead")
        assert [e["clock"] for e in log_events(log, "lease_released")] == [first_id]
        taken = wait_for(
            lambda: [e for e in log_events(log, "lease_acquired") if e["clock"] == second_id],
            5, "the new lead's log line",
        )  # fmt: skip
        assert [(e["prev_clock"], e["how"]) for e in taken] == [(first_id, "released")]
        time.sleep(2)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)
    assert live_clocks(client, namespace) == {}
    assert_each_tick_once(ledger)


def test_django_runserver_runs_one_clock_in_its_serving_child_and_migrate_none(
    redis_server: RedisServer, client: redis.Redis, namespace: str, tmp_path: Path
) -> None:
    migrate, _, migrate_log = reloading_host(
        redis_server, namespace, tmp_path / "m", "django_site", *PYTHON_M, "django", "migrate"
    )
    assert migrate.wait(60) == 0, migrate_log.read_text()
    assert Store(client, namespace).clocks.all() == []  # a management command ran none
    port = free_port()
    proc, site, log = reloading_host(
        redis_server, namespace, tmp_path, "django_site",
        *PYTHON_M, "django", "runserver", f"127.0.0.1:{port}",
    )  # fmt: skip
    reload_once_and_stop(client, namespace, proc, site / "urls.py", log, tmp_path / "ledger.jsonl")


def test_flask_run_debug_runs_one_clock_in_its_serving_child(
    redis_server: RedisServer, client: redis.Redis, namespace: str, tmp_path: Path
) -> None:
    port = free_port()
    proc, site, log = reloading_host(
        redis_server, namespace, tmp_path, "flask_site",
        *PYTHON_M, "flask", "--app", "flask_site.wsgi", "run", "--debug", "--port", str(port),
    )  # fmt: skip
    reload_once_and_stop(
        client, namespace, proc, site / "__init__.py", log, tmp_path / "ledger.jsonl"
    )


def test_django_under_the_gunicorn_script_runs_a_clock_per_worker(
    redis_server: RedisServer, client: redis.Redis, namespace: str, tmp_path: Path
) -> None:
    """The snippet's other branch: the `gunicorn` script, as a Procfile runs it."""
    script = str(Path(sys.executable).parent / "gunicorn")
    proc, _, log = reloading_host(
        redis_server, namespace, tmp_path, "django_site", script, "--workers", "2",
        "--bind", f"127.0.0.1:{free_port()}", "--no-control-socket", "django_site.wsgi",
    )  # fmt: skip
    try:
        wait_for(lambda: len(live_clocks(client, namespace)) == 2, 30, "two workers' clocks")
        assert proc.pid not in live_clocks(client, namespace)
        wait_for(lambda: len(ledger_ticks(tmp_path / "ledger.jsonl")) >= 3, 20, "ticks")
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(40)
    assert code == 0, log.read_text()
    assert len(log_events(log, "clock_stopped")) == 2
    assert_each_tick_once(tmp_path / "ledger.jsonl")

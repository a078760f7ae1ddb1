"""Real parts for tests: redis-server processes and `lockclock run` subprocesses."""

from __future__ import annotations

import glob
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import redis

from lockclock.coordination.keys import Keys
from lockclock.coordination.records import RunPolicy
from lockclock.coordination.store import Store
from lockclock.runtime.embedded import find_server

ROOT = Path(__file__).resolve().parent.parent

# A run policy for script tests that claim directly: every claim runs (overlap allow).
TEST_POLICY = RunPolicy(
    mode="inline",
    queue="default",
    overlap="allow",
    max_deliveries=3,
    max_late_ms=3_600_000,
    retries=0,
    retry_backoff_ms=10_000,
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def step_until(loop: Any, pred: Callable[[], Any], timeout: float, what: str) -> Any:
    """Step an in-process clock loop until `pred()` holds (see the make_loop fixture)."""
    deadline = time.monotonic() + timeout
    while True:
        value = pred()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s stepping the loop for {what}")
        loop.step()


def wait_for(pred: Callable[[], Any], timeout: float, what: str, interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = pred()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


class RedisServer:
    """A real redis-server on a loopback port, restartable on the same port."""

    def __init__(
        self,
        workdir: Path,
        *,
        password: str | None = None,
        aof: bool = False,
        replica_of: RedisServer | None = None,
    ) -> None:
        self.workdir = workdir
        self.password = password
        self.aof = aof
        self.replica_of = replica_of
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        workdir.mkdir(parents=True, exist_ok=True)

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    def client(self, db: int = 0) -> redis.Redis:
        return redis.Redis(
            host="127.0.0.1", port=self.port, db=db, password=self.password,
            decode_responses=True, socket_timeout=5,
        )  # fmt: skip

    def start(self) -> None:
        cmd = [
            find_server(),
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--dir", str(self.workdir),
            "--save", "",
            "--appendonly", "yes" if self.aof else "no",
            "--appendfsync", "everysec",
        ]  # fmt: skip
        if self.password:
            cmd += ["--requirepass", self.password]
        if self.replica_of is not None:
            cmd += ["--replicaof", "127.0.0.1", str(self.replica_of.port)]
        log = open(self.workdir / "redis.log", "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        wait_for(self._ping, 10, "redis-server to answer")

    def _ping(self) -> bool:
        try:
            return bool(self.client().ping())
        except redis.RedisError:
            return False

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.send_signal(sig)
            self.proc.wait(10)
        self.proc = None

    def signal(self, sig: int) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    @property
    def aof_dir(self) -> Path:
        return self.workdir / "appendonlydir"

    def snapshot_aof(self, dest: Path) -> Path:
        """Copy the AOF as it is on disk now: what a host crash a moment later, with
        `appendfsync everysec`, could leave (Redis loads a truncated tail)."""
        if dest.exists():
            shutil.rmtree(dest)
        shutil.copytree(self.aof_dir, dest)
        return dest

    def crash_to(self, snapshot: Path) -> None:
        """kill -9 the server and restart it from an older AOF: acknowledged writes made
        after the snapshot are lost, as in a host crash before the next fsync."""
        self.stop(signal.SIGKILL)
        shutil.rmtree(self.aof_dir)
        shutil.copytree(snapshot, self.aof_dir)
        self.start()


class ClockProcess:
    """One `python -m lockclock run TARGET` subprocess (or `worker TARGET ...`) with its
    own log file."""

    def __init__(
        self,
        target: str,
        env: dict[str, str],
        log_path: Path,
        *,
        command: str = "run",
        args: tuple[str, ...] = (),
    ) -> None:
        self.target = target
        self.env = env
        self.log_path = log_path
        self.command = command
        self.args = args
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> ClockProcess:
        log = open(self.log_path, "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "lockclock", self.command, self.target, *self.args],
            env=self.env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT,
        )  # fmt: skip
        log.close()
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def signal(self, sig: int) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    def wait(self, timeout: float) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def events(self, name: str) -> list[str]:
        return [ln for ln in self.log().splitlines() if f" event={name} " in ln + " "]

    def ensure_dead(self) -> None:
        if self.alive():
            assert self.proc is not None
            self.proc.send_signal(signal.SIGCONT)
            self.proc.kill()
            self.proc.wait(10)


def libfaketime() -> str:
    """Debian's libfaketime: shifts a process's wall clock without code hooks."""
    found = sorted(glob.glob("/usr/lib/*/faketime/libfaketimeMT.so.1"))
    assert found, "libfaketime is required (scripts/bootstrap installs Debian's faketime)"
    return found[0]


def sleep_shim() -> str:
    """tests/sleep_shim.c, built once: with FAKETIME_DONT_FAKE_MONOTONIC=1, libfaketime's
    clock_nanosleep fails with EINVAL, so every time.sleep() would raise."""
    src = ROOT / "tests" / "sleep_shim.c"
    digest = hashlib.sha256(src.read_bytes()).hexdigest()[:12]
    lib = Path(tempfile.gettempdir()) / f"lockclock-sleep-shim-{digest}.so"
    if not lib.exists():
        tmp = lib.with_suffix(f".{os.getpid()}.tmp")
        subprocess.run(["gcc", "-shared", "-fPIC", "-O2", "-o", str(tmp), str(src)], check=True)
        tmp.replace(lib)
    return str(lib)


def skewed_env(skew: str) -> dict[str, str]:
    """Environment for a process whose wall clock is off by `skew` (e.g. "+30s"). The
    library is preloaded directly: the faketime wrapper would not pass SIGTERM on."""
    return {
        "LD_PRELOAD": f"{sleep_shim()} {libfaketime()}",
        "FAKETIME": skew,
        "FAKETIME_DONT_FAKE_MONOTONIC": "1",
    }


def clock_env(redis_url: str, namespace: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LOCKCLOCK_", "SENTRY_"))}
    env.update(
        REDIS_URL=redis_url,
        LOCKCLOCK_NAMESPACE=namespace,
        PYTHONPATH=str(ROOT),
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def log_events(path: Path, name: str) -> list[dict[str, str]]:
    """The logfmt lines of one lockclock event in a log file, as their fields (a process
    that logs through its host's logging, e.g. gunicorn's or Django's)."""
    rows = []
    for line in path.read_text().splitlines():
        if f" event={name} " in line + " ":
            fields = re.findall(r'(\w+)=("[^"]*"|\S+)', line)
            rows.append({k: v.strip('"') for k, v in fields})
    return rows


def read_ledger(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def active_pid(client: redis.Redis, namespace: str) -> int | None:
    holder = client.hget(Keys(namespace).lease, "clock")
    return int(holder.split(":")[-2]) if holder else None


def standby_pids(client: redis.Redis, namespace: str) -> set[int]:
    """Pids of the clocks whose last heartbeat says standby."""
    return {c.pid for c in Store(client, namespace).clocks.all() if c.role == "standby"}


def run_cli(
    *args: str, env: dict[str, str], timeout: float = 30
) -> subprocess.CompletedProcess[str]:
    """One `python -m lockclock ...` command, as a user would type it."""
    return subprocess.run(
        [sys.executable, "-m", "lockclock", *args],
        capture_output=True, text=True, cwd=ROOT, timeout=timeout, env=env,
    )  # fmt: skip


def cli_in_process(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The same `lockclock ...` command run in this process by click's runner: a
    subprocess costs seconds of imports. Tests of the command as users start it (exit
    codes, one-line errors) use run_cli."""
    from click.testing import CliRunner

    from lockclock.runtime.cli import main

    r = CliRunner().invoke(main, list(args), env=env, prog_name="lockclock")
    if r.exception is not None and not isinstance(r.exception, SystemExit):
        raise r.exception
    return subprocess.CompletedProcess(list(args), r.exit_code, r.stdout, r.stderr)


def history(
    client: redis.Redis, namespace: str, name: str, limit: int = 1000
) -> list[dict[str, Any]]:
    """A schedule's run records as stored (JSON objects), newest first."""
    return [r.to_json() for r in Store(client, namespace).history.runs(name, limit)]


def outages(
    client: redis.Redis, namespace: str, name: str, limit: int = 20
) -> list[dict[str, Any]]:
    """A schedule's outage windows as stored, newest first."""
    return [o.to_json() for o in Store(client, namespace).history.outages(name, limit)]

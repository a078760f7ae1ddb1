"""examples/web_app.py as `make example` runs it: two FastAPI processes embedding the
same clock, the ops API mounted. One leads, the other stands by and takes over."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import redis

from lockclock.coordination.store import Store
from tests.support import ROOT, RedisServer, active_pid, clock_env, free_port, wait_for

TOKEN = "example-token"


def get(url: str, token: str | None = None) -> tuple[int, object]:
    req = urllib.request.Request(url)
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, json.loads(resp.read())
    except OSError:
        return 0, None


def test_two_embedding_web_processes_are_one_clock_and_a_standby(
    redis_server: RedisServer, client: redis.Redis, namespace: str, tmp_path: Path
) -> None:
    env = clock_env(redis_server.url, namespace, LOCKCLOCK_API_TOKEN=TOKEN, LOCKCLOCK_LEASE_TTL="1")
    ports = [free_port(), free_port()]
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "examples.web_app:app", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=(tmp_path / f"web{port}.log").open("w"),
            stderr=subprocess.STDOUT,
        )
        for port in ports
    ]
    try:
        for port in ports:
            wait_for(lambda port=port: get(f"http://127.0.0.1:{port}/")[0] == 200, 20, "up")
        store = Store(client, namespace)
        wait_for(lambda: active_pid(client, namespace) in {p.pid for p in procs}, 10, "a leader")
        code, status = get(f"http://127.0.0.1:{ports[0]}/lockclock/api/v1/status", TOKEN)
        assert code == 200 and isinstance(status, dict)
        wait_for(lambda: len(store.clocks.all()) == 2, 10, "both clocks registered")
        assert sorted(s["name"] for s in status["schedules"]) == ["heartbeat", "nightly_report"]
        wait_for(lambda: store.history.runs("heartbeat", 5), 12, "a heartbeat run")
        leader = next(p for p in procs if p.pid == active_pid(client, namespace))
        leader.send_signal(signal.SIGKILL)
        leader.wait(5)
        (other,) = [p for p in procs if p is not leader]
        wait_for(lambda: active_pid(client, namespace) == other.pid, 5, "the standby to lead")
        code, _ = get(f"http://127.0.0.1:{ports[procs.index(other)]}/lockclock/healthz")
        assert code == 200
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            p.wait(15)
    # SIGTERM: uvicorn ran the lifespan's exit, which stopped the clock and released it
    log = (tmp_path / f"web{ports[procs.index(other)]}.log").read_text()
    assert "lease_released" in log and "clock_stopped" in log, log[-2000:]
    assert client.hget(Store(client, namespace).keys.lease, "clock") is None

"""The HTTP ops API against real parts: a real clock (tests.apps.many_app, three yearly
schedules that never fall due), a real `lockclock web` subprocess on uvicorn, and the
session's redis-server; the WSGI adapter served in-process by wsgiref."""

from __future__ import annotations

import json
import signal
import threading
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server
from wsgiref.util import shift_path_info

import pytest
import redis

from lockclock.coordination.store import Store
from lockclock.ops.control import Operations
from lockclock.web import Request, create_wsgi_app
from tests.support import (
    ROOT,
    ClockProcess,
    RedisServer,
    clock_env,
    free_port,
    run_cli,
    wait_for,
)

READ = "read-" + uuid.uuid4().hex
API = "api-" + uuid.uuid4().hex
APP = "tests.apps.many_app:clock"
NAMES = ["s0000", "s0001", "s0002"]


class Web:
    """A `lockclock web` process and an HTTP client for it."""

    def __init__(self, proc: ClockProcess, port: int) -> None:
        self.proc = proc
        self.base = f"http://127.0.0.1:{port}"

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        token: str | None = None,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], Any]:
        return http(self.base + path, method, body, token=token, raw=raw, headers=headers)


def http(
    url: str,
    method: str = "GET",
    body: Any = None,
    *,
    token: str | None = None,
    raw: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], Any]:
    data = raw if raw is not None else None if body is None else json.dumps(body).encode()
    if data is None and method == "POST":
        data = b""
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            status, hdrs, text = resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as err:
        status, hdrs, text = err.code, dict(err.headers), err.read()
    ctype = hdrs.get("Content-Type") or hdrs.get("content-type") or ""
    return status, hdrs, json.loads(text) if ctype.startswith("application/json") else text


def _answers(web: Web) -> bool:
    try:
        return web.call("GET", "/healthz")[0] == 200
    except OSError:
        return False


@pytest.fixture
def start_web(spawn: Callable[..., ClockProcess]) -> Callable[..., Web]:
    def _start(*, target: str = APP, port: int | None = None, **env: str) -> Web:
        port = port or free_port()
        args = ("--host", "127.0.0.1", "--port", str(port))
        proc = spawn(target, command="web", args=args, MANY_SCHEDULES="3", **env)
        web = Web(proc, port)
        wait_for(lambda: _answers(web) or not proc.alive(), 20, "lockclock web to answer")
        assert proc.alive(), proc.log()
        return web

    return _start


@pytest.fixture
def clock(spawn: Callable[..., ClockProcess], client: redis.Redis, namespace: str) -> Store:
    """A real clock, active, its three schedules published; the store it writes."""
    proc = spawn(APP, MANY_SCHEDULES="3")
    store = Store(client, namespace)
    wait_for(
        lambda: sorted(store.schedules.published()) == NAMES or not proc.alive(),
        20,
        "the clock to publish its schedules",
    )
    assert proc.alive(), proc.log()
    return store


def wait_done(web: Web, status_path: str) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        code, _, doc = web.call("GET", status_path, token=READ)
        assert code == 200, doc
        assert doc["state"] != "refused", doc
        return doc if doc["state"] == "done" else None

    found: dict[str, Any] = wait_for(done, 15, f"request {status_path} to be done")
    return found


def test_default_deny_answers_only_healthz_and_stops_on_sigterm(
    start_web: Callable[..., Web],
) -> None:
    web = start_web()
    code, _, doc = web.call("GET", "/healthz")
    assert (code, doc) == (200, {"ok": True})
    for method, path in [
        ("GET", "/api/v1/status"),
        ("GET", "/metrics"),
        ("GET", "/api/v1/schedules/s0000/runs"),
        ("POST", "/api/v1/schedules/s0000/trigger"),
        ("GET", "/no/such/route"),
    ]:
        code, _, doc = web.call(method, path, token=API)  # a token it does not have
        assert code == 401, (method, path, doc)
        assert "LOCKCLOCK_READ_TOKEN" in doc["error"] and "LOCKCLOCK_API_TOKEN" in doc["error"]
    (line,) = web.proc.events("web_started")
    assert "reads=closed" in line and "writes=closed" in line
    web.proc.signal(signal.SIGTERM)
    assert web.proc.wait(15) == 0
    assert web.proc.events("web_stopped")


def test_tokens_statuses_and_errors(start_web: Callable[..., Web], clock: Store) -> None:
    web = start_web(LOCKCLOCK_READ_TOKEN=READ, LOCKCLOCK_API_TOKEN=API)
    (line,) = web.proc.events("web_started")
    assert "reads=open" in line and "writes=open" in line
    assert READ not in web.proc.log() and API not in web.proc.log()
    trigger = "/api/v1/schedules/s0000/trigger"
    code, headers, doc = web.call("GET", "/api/v1/status")
    assert code == 401 and "Bearer" in doc["error"] and "Bearer" in headers["www-authenticate"]
    assert web.call("POST", trigger, {"reason": "x"})[0] == 401
    assert web.call("GET", "/api/v1/status", token="wrong")[0] == 401
    code, _, doc = web.call("POST", trigger, {"reason": "x"}, token=READ)
    assert code == 403 and "LOCKCLOCK_API_TOKEN" in doc["error"]
    assert web.call("GET", "/api/v1/status", token=READ)[0] == 200
    assert web.call("GET", "/api/v1/status", token=API)[0] == 200
    # the read token made nothing: no trigger in the audit
    assert Operations(clock).audit() == []
    code, _, doc = web.call("GET", "/api/v1/nope", token=READ)
    assert code == 404 and "error" in doc
    code, headers, doc = web.call("GET", trigger, token=READ)
    assert code == 405 and headers["allow"] == "POST"
    assert web.call("POST", "/api/v1/status", token=API)[0] == 405
    code, _, doc = web.call("POST", trigger, raw=b"{not json", token=API)
    assert code == 400 and "JSON" in doc["error"]
    code, _, doc = web.call("POST", trigger, {"reson": "typo"}, token=API)
    assert code == 400 and "'reason'" in doc["error"]
    code, _, doc = web.call("POST", trigger, {"force": "yes"}, token=API)
    assert code == 400 and "force" in doc["error"]
    for method, path in [
        ("GET", "/api/v1/schedules/nope/runs"),
        ("GET", "/api/v1/schedules/nope"),
        ("POST", "/api/v1/schedules/nope/trigger"),
        ("POST", "/api/v1/schedules/nope/pause"),
    ]:
        body = {"reason": "r"} if method == "POST" else None
        code, _, doc = web.call(method, path, body, token=API)
        assert code == 404 and "nope" in doc["error"], (method, path, doc)
    assert web.call("GET", "/api/v1/requests/0123456789abcdef", token=READ)[0] == 404
    assert web.call("GET", "/api/v1/audit?limit=zero", token=READ)[0] == 400


def test_reads(start_web: Callable[..., Web], clock: Store, namespace: str) -> None:
    web = start_web(LOCKCLOCK_READ_TOKEN=READ)
    code, _, status = web.call("GET", "/api/v1/status", token=READ)
    assert code == 200 and status["namespace"] == namespace
    assert [s["name"] for s in status["schedules"]] == NAMES
    assert status["active"]["clock"] and status["clocks"][0]["started_at"].endswith("Z")
    code, _, clocks = web.call("GET", "/api/v1/clocks", token=READ)
    assert code == 200 and clocks["active"]["clock"] == status["active"]["clock"]
    assert any(c["role"] == "active" for c in clocks["clocks"])
    code, _, workers = web.call("GET", "/api/v1/workers", token=READ)
    assert code == 200 and workers["workers"][0]["kind"] == "clock"  # inline: it runs them
    assert web.call("GET", "/api/v1/queues", token=READ)[0] == 200
    code, _, listed = web.call("GET", "/api/v1/schedules", token=READ)
    assert code == 200 and [s["name"] for s in listed["schedules"]] == NAMES
    assert listed["pauses"] == [] and listed["schedules"][0]["paused"] is None
    code, _, runs = web.call("GET", "/api/v1/schedules/s0001/runs?limit=5", token=READ)
    assert code == 200 and runs == {"schedule": "s0001", "runs": []}
    code, _, audit = web.call("GET", "/api/v1/audit?limit=5&schedule=s0001", token=READ)
    assert code == 200 and audit == {"entries": []}
    code, _, described = web.call("GET", "/api/v1/schedules/s0001", token=READ)
    assert code == 200 and described["name"] == "s0001"
    assert web.call("GET", "/api/v1/schedules/s0001/stats", token=READ)[0] == 200
    code, _, health = web.call("GET", "/api/v1/health", token=READ)
    assert (code, health["ok"]) in ((200, True), (503, False)), health
    code, headers, body = web.call("GET", "/metrics", token=READ)
    assert code == 200 and headers["content-type"].startswith("text/plain"), body
    assert b"lockclock_" in body
    # writes stay closed with only a read token
    code, _, doc = web.call("POST", "/api/v1/pause-all", {"reason": "r"}, token=READ)
    assert code == 403 and "not set on this server" in doc["error"]


def test_trigger_makes_one_fenced_manual_run_per_idempotency_key(
    start_web: Callable[..., Web], clock: Store
) -> None:
    web = start_web(LOCKCLOCK_READ_TOKEN=READ, LOCKCLOCK_API_TOKEN=API)
    path = "/api/v1/schedules/s0002/trigger"
    code, headers, doc = web.call("POST", path, {"reason": "smoke test"}, token=API)
    assert code == 202, doc
    assert doc["status"] == f"/api/v1/requests/{doc['request']}" == headers["location"]
    req = wait_done(web, doc["status"])
    assert req["kind"] == "trigger" and req["source"] == "http" and req["actor"] == "api-token"
    (granted,) = req["runs"]

    def manual_runs() -> list[dict[str, Any]]:
        code, _, doc = web.call("GET", "/api/v1/schedules/s0002/runs", token=READ)
        assert code == 200
        return [r for r in doc["runs"] if r.get("trigger") == "manual"]

    (run,) = wait_for(manual_runs, 10, "the manual run in /runs")
    assert run["fence"] == granted["fence"] and run["fence"] > 0
    assert run["request"] == doc["request"] and run["tick_at"].endswith("Z")
    wait_for(lambda: manual_runs()[0]["status"] == "ok", 10, "the manual run to end")
    # the same Idempotency-Key twice: one request, one run
    key = {"Idempotency-Key": uuid.uuid4().hex}
    first = web.call("POST", path, {"reason": "retry"}, token=API, headers=key)
    again = web.call("POST", path, {"reason": "retry"}, token=API, headers=key)
    assert first[0] == again[0] == 202 and first[2] == again[2]
    assert again[1].get("idempotent-replayed") == "true"
    wait_done(web, first[2]["status"])
    wait_for(lambda: len(manual_runs()) == 2, 10, "the second manual run")
    other = web.call("POST", "/api/v1/schedules/s0001/trigger", {}, token=API, headers=key)
    assert other[0] == 422, other
    triggers = [e for e in Operations(clock).audit() if e.action == "trigger"]
    assert len(triggers) == 2 and len(manual_runs()) == 2


def test_pause_resume_cancel(
    start_web: Callable[..., Web], clock: Store, redis_server: RedisServer, namespace: str
) -> None:
    web = start_web(LOCKCLOCK_READ_TOKEN=READ, LOCKCLOCK_API_TOKEN=API)
    ops = Operations(clock)
    path = "/api/v1/schedules/s0001/pause"
    code, _, doc = web.call("POST", path, {}, token=API)
    assert code == 400 and "reason" in doc["error"]
    code, _, doc = web.call(
        "POST", path, {"reason": "r", "until": "2020-01-01T00:00:00Z"}, token=API
    )
    assert code == 400 and "passed" in doc["error"]
    actor = "alice@ops/" + "x" * 200  # kept to 100 characters
    who = {"X-Lockclock-Actor": actor, "Idempotency-Key": "pause-" + uuid.uuid4().hex}
    first = web.call("POST", path, {"reason": "incident 9"}, token=API, headers=who)
    assert first[0] == 200 and first[2]["how"] == "paused" and first[2]["target"] == "s0001"
    assert first[2]["since_at"].endswith("Z") and first[2]["since_ms"] > 0
    again = web.call("POST", path, {"reason": "incident 9"}, token=API, headers=who)
    assert again[0] == 200 and again[2] == first[2]
    assert again[1].get("idempotent-replayed") == "true"
    pause = ops.pauses()["s0001"]
    assert (pause.actor, pause.source, pause.reason) == (actor[:100], "http", "incident 9")
    entries = web.call("GET", "/api/v1/audit?schedule=s0001", token=READ)[2]["entries"]
    assert [(e["action"], e["actor"], e["source"]) for e in entries] == [
        ("pause", actor[:100], "http")  # once: the retry replayed the answer
    ]
    env = clock_env(redis_server.url, namespace)
    status = run_cli("status", env=env)
    assert status.returncode == 0 and "PAUSED" in status.stdout
    assert "incident 9" in status.stdout
    listed = web.call("GET", "/api/v1/schedules", token=READ)[2]
    assert [s["name"] for s in listed["schedules"] if s["paused"]] == ["s0001"]
    # resume: a request the active clock closes the span with
    code, _, doc = web.call(
        "POST", "/api/v1/schedules/s0001/resume", {"catchup": "skip"}, token=API
    )
    assert code == 202, doc
    assert wait_done(web, doc["status"])["kind"] == "resume"
    assert "s0001" not in ops.pauses()
    code, _, doc = web.call("POST", "/api/v1/schedules/s0001/resume", {}, token=API)
    assert code == 409 and "not paused" in doc["error"]
    code, _, doc = web.call("POST", "/api/v1/schedules/s0001/resume", {"catchup": "x"}, token=API)
    assert code == 400
    # pause-all and resume-all
    code, _, doc = web.call("POST", "/api/v1/pause-all", {"reason": "deploy"}, token=API)
    assert code == 200 and doc["target"] == "*" and "*" in ops.pauses()
    code, _, doc = web.call("POST", "/api/v1/resume-all", {"reason": "done"}, token=API)
    assert code == 202 and "*" not in ops.pauses()
    wait_done(web, doc["status"])
    # cancel: nothing runs, so nothing to cancel
    cancel = "/api/v1/schedules/s0000/cancel"
    code, _, doc = web.call("POST", cancel, {"reason": "stop it"}, token=API)
    assert code == 409 and "nothing to cancel" in doc["error"]
    assert web.call("POST", cancel, {}, token=API)[0] == 400
    code, _, doc = web.call(
        "POST", cancel, {"reason": "r", "tick": "2020-01-01T00:00:00Z"}, token=API
    )
    assert code == 404, doc
    actions = [(e.action, e.actor, e.source) for e in ops.audit()]
    assert ("resume", "api-token", "http") in actions and ("pause", "api-token", "http") in actions


def test_wsgi_app_in_process(client: redis.Redis, clock: Store, namespace: str) -> None:
    app = create_wsgi_app(store=Store(client, namespace), read_token=READ, api_token=API)

    def host_users(request: Request, action: str) -> str | None:
        """A host app's own check: anyone it knows reads, only bob writes."""
        user = request.header("x-user")
        return user if user == "bob" or (user and action == "read") else None

    hosted = create_wsgi_app(store=Store(client, namespace), authorize=host_users)

    def mounted(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        """As a host mounts it: under /ops (SCRIPT_NAME), the rest is its PATH_INFO."""
        prefix = shift_path_info(environ)
        if prefix in ("ops", "hosted"):
            return (app if prefix == "ops" else hosted)(environ, start_response)
        start_response("404 Not Found", [("content-type", "text/plain")])
        return [b"host app"]

    class Quiet(WSGIRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = make_server("127.0.0.1", 0, mounted, handler_class=Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}/ops"
    try:
        code, _, doc = http(base + "/healthz")
        assert (code, doc) == (200, {"ok": True})
        assert http(base + "/api/v1/status")[0] == 401
        code, _, doc = http(base + "/api/v1/schedules", token=READ)
        assert code == 200 and [s["name"] for s in doc["schedules"]] == NAMES
        url = base + "/api/v1/schedules/s0002/pause"
        code, _, doc = http(url, "POST", {"reason": "wsgi"}, token=READ)
        assert code == 403
        key = {"Idempotency-Key": uuid.uuid4().hex}
        first = http(url, "POST", {"reason": "wsgi"}, token=API, headers=key)
        again = http(url, "POST", {"reason": "wsgi"}, token=API, headers=key)
        assert first[0] == again[0] == 200 and first[2] == again[2]
        assert Operations(clock).pauses()["s0002"].reason == "wsgi"
        code, _, doc = http(url, "POST", raw=b"[1,", token=API)
        assert code == 400
        code, _, doc = http(base + "/api/v1/schedules/s0002/resume", "POST", {}, token=API)
        assert code == 202 and doc["status"] == f"/ops/api/v1/requests/{doc['request']}"
        code, _, req = http(f"http://127.0.0.1:{server.server_port}{doc['status']}", token=READ)
        assert code == 200 and req["kind"] == "resume" and req["source"] == "http"
        # a host app's authorize hook instead of tokens
        hosted_url = f"http://127.0.0.1:{server.server_port}/hosted/api/v1"
        assert http(hosted_url + "/status", token=READ)[0] == 403
        assert http(hosted_url + "/status", headers={"X-User": "eve"})[0] == 200
        pause = hosted_url + "/schedules/s0000/pause"
        assert http(pause, "POST", {"reason": "x"}, headers={"X-User": "eve"})[0] == 403
        code, _, doc = http(pause, "POST", {"reason": "host"}, headers={"X-User": "bob"})
        assert code == 200, doc
        found = Operations(clock).pauses()["s0000"]
        assert (found.actor, found.source, found.reason) == ("bob", "http", "host")
    finally:
        server.shutdown()
        server.server_close()


def test_the_targets_clock_options_apply_and_a_missing_uvicorn_is_one_line(
    start_web: Callable[..., Web], redis_server: RedisServer, namespace: str, tmp_path: Path
) -> None:
    port = free_port()
    web = start_web(LOCKCLOCK_READ_TOKEN=READ, target="tests.apps.namespaced", port=port)
    (line,) = web.proc.events("web_started")
    assert "namespace=from-code" in line and f"url=http://127.0.0.1:{port}" in line
    code, _, status = web.call("GET", "/api/v1/status", token=READ)
    assert code == 200 and status["namespace"] == "from-code"  # Clock(...) over the env's
    blocked = tmp_path / "no_uvicorn"
    blocked.mkdir()
    (blocked / "uvicorn.py").write_text("raise ImportError('not installed')\n")
    env = clock_env(redis_server.url, namespace, PYTHONPATH=f"{blocked}:{ROOT}")
    res = run_cli("web", "--port", str(free_port()), env=env)
    assert res.returncode == 2, res
    assert res.stderr.strip().splitlines() == [
        "error: lockclock web needs uvicorn: pip install 'lockclock[web]'"
    ]


def test_backfill_over_http_plans_runs_and_reports_progress(
    start_web: Callable[..., Web], clock: Store
) -> None:
    web = start_web(LOCKCLOCK_READ_TOKEN=READ, LOCKCLOCK_API_TOKEN=API)
    path = "/api/v1/schedules/s0000/backfill"
    span = {"from": "2024-01-01T00:00:00Z", "to": "2026-01-01T00:00:00Z", "reason": "replay"}
    code, _, doc = web.call("POST", path, {**span, "dry_run": True}, token=API)
    assert code == 202, doc
    plan = wait_done(web, doc["status"])["plan"]
    # yearly ticks with no record, older than the history kept: unknown, not run
    assert [(p["tick_at"][:10], p["state"]) for p in plan] == [
        ("2024-01-01", "unknown"), ("2025-01-01", "unknown"), ("2026-01-01", "unknown"),
    ]  # fmt: skip
    code, _, doc = web.call("POST", path, {**span, "include_unknown": True}, token=API)
    assert code == 202, doc

    def finished() -> dict[str, Any] | None:
        req = wait_done(web, doc["status"])
        progress = req.get("progress") or {}
        return req if progress.get("ended") == 3 else None

    req = wait_for(finished, 15, "the backfill to finish")
    assert req["progress"]["ok"] == 3 and req["progress"]["failed"] == []
    assert [r["for_tick_at"][:10] for r in req["runs"]] == [
        "2024-01-01",
        "2025-01-01",
        "2026-01-01",
    ]
    fences = [r["fence"] for r in req["runs"]]
    assert fences == sorted(fences) and len(set(fences)) == 3
    code, _, doc = web.call(
        "POST", path, {"reason": "x", "from": "2024-01-01T00:00:00Z"}, token=API
    )
    assert code == 400 and "'to'" in doc["error"]
    code, _, doc = web.call("POST", path, {**span, "reason": ""}, token=API)
    assert code == 400

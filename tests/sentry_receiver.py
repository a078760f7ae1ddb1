"""A stand-in for Sentry: a threaded HTTP server that decodes the envelopes the real SDK
posts (gzip, to /api/<project>/envelope/) into items, so tests assert on exactly what
Sentry would have received. It can answer slowly or with any status."""

from __future__ import annotations

import gzip
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.support import wait_for


@dataclass(frozen=True)
class Item:
    type: str  # event | check_in | client_report | ...
    payload: Any  # decoded JSON (bytes if it is not JSON)
    headers: dict[str, Any]  # the item's header line
    envelope: dict[str, Any]  # the envelope's header line (event_id, sent_at, dsn...)
    received: float  # time.time() when the request arrived
    path: str
    auth: str  # the X-Sentry-Auth header


def parse_envelope(body: bytes) -> tuple[dict[str, Any], list[tuple[dict[str, Any], bytes]]]:
    """Envelope format: a JSON header line, then per item a JSON header line and a payload
    of `length` bytes (or up to the next newline when there is no length)."""
    head, _, rest = body.partition(b"\n")
    items: list[tuple[dict[str, Any], bytes]] = []
    while rest.strip():
        line, _, rest = rest.partition(b"\n")
        if not line.strip():
            continue
        headers = json.loads(line)
        if "length" in headers:
            n = int(headers["length"])
            payload, rest = rest[:n], rest[n:]
            rest = rest.removeprefix(b"\n")
        else:
            payload, _, rest = rest.partition(b"\n")
        items.append((headers, payload))
    return json.loads(head), items


class SentryReceiver:
    """`with SentryReceiver() as s:` serves on 127.0.0.1; `s.dsn` points the SDK at it."""

    def __init__(self, *, delay_s: float = 0.0, status: int = 200) -> None:
        self.delay_s = delay_s
        self.status = status
        self.items: list[Item] = []
        self.requests = 0  # counted on arrival, before any delay
        self.errors: list[str] = []
        self._lock = threading.Lock()
        receiver = self

        self.api_calls: list[tuple[str, str, str, Any]] = []  # method, path, auth, JSON

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                receiver._handle(self)

            def do_PUT(self) -> None:  # Sentry's web API (muting a monitor)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver._lock:
                    receiver.api_calls.append(
                        ("PUT", self.path, self.headers.get("Authorization", ""), json.loads(body))
                    )
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    @property
    def dsn(self) -> str:
        return f"http://public@127.0.0.1:{self.port}/1"

    def __enter__(self) -> SentryReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _handle(self, req: BaseHTTPRequestHandler) -> None:
        received = time.time()
        with self._lock:
            self.requests += 1
        body = req.rfile.read(int(req.headers.get("Content-Length") or 0))
        try:
            if req.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            env, raw_items = parse_envelope(body)
            parsed = []
            for headers, payload in raw_items:
                try:
                    value: Any = json.loads(payload)
                except ValueError:
                    value = payload
                parsed.append(
                    Item(
                        type=str(headers.get("type")),
                        payload=value,
                        headers=headers,
                        envelope=env,
                        received=received,
                        path=req.path,
                        auth=req.headers.get("X-Sentry-Auth", ""),
                    )
                )
            with self._lock:
                self.items.extend(parsed)
        except Exception as exc:  # a test should see this, not a hung SDK
            with self._lock:
                self.errors.append(f"{type(exc).__name__}: {exc}")
        if self.delay_s:
            time.sleep(self.delay_s)
        answer = json.dumps({"id": "0" * 32}).encode()
        try:
            req.send_response(self.status)
            req.send_header("Content-Type", "application/json")
            req.send_header("Content-Length", str(len(answer)))
            req.end_headers()
            req.wfile.write(answer)
        except OSError:
            pass  # the client gave up waiting

    # -- what arrived ----------------------------------------------------------------------

    def of_type(self, kind: str) -> list[Item]:
        with self._lock:
            return [i for i in self.items if i.type == kind]

    def events(self, kind: str | None = None) -> list[dict[str, Any]]:
        """Event payloads; with `kind`, those whose fingerprint names it (lockclock's
        fingerprints are ["lockclock", kind, namespace, schedule, ...])."""
        out = [i.payload for i in self.of_type("event")]
        if kind is not None:
            out = [e for e in out if e.get("fingerprint", [None, None])[1] == kind]
        return out

    def checkins(self) -> list[dict[str, Any]]:
        return [i.payload for i in self.of_type("check_in")]

    def wait(self, pred: Callable[[SentryReceiver], Any], timeout: float, what: str) -> Any:
        return wait_for(lambda: pred(self), timeout, what)

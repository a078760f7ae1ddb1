"""Idempotency-Key for the writes that have no key of their own in Redis (pause,
resume, cancel): the first answer is stored under the namespace's
`idempotency:http:<key>` for a day, so a client that retries after a timeout gets the
same answer and the change is made once. A key still being worked on answers 409; one
reused for another route or body answers 422 (as the IETF Idempotency-Key draft says).
Only a change made is stored: after a refusal or a failure nothing was done, so a
retry tries again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from ..coordination.control import IDEMPOTENCY_TTL_S
from ..coordination.store import Store
from .http import HTTPError, Request, Response

HEADER = "idempotency-key"
MAX_KEY = 255
REPLAYED = ("idempotent-replayed", "true")


def idempotency_key(request: Request) -> str | None:
    """The header's value, checked: printable ASCII without spaces, 1-255 characters."""
    key = request.header(HEADER)
    if key is None:
        return None
    key = key.strip()
    if not key or len(key) > MAX_KEY or not all("!" <= c <= "~" for c in key):
        raise HTTPError(400, f"Idempotency-Key must be 1-{MAX_KEY} printable ASCII characters")
    return key


def replayable(store: Store, request: Request, key: str, act: Callable[[], Response]) -> Response:
    """`act()` once per key: later calls with the key get its stored answer."""
    slot = store.keys.idempotency("http:" + key)
    mark = _fingerprint(request)
    pending = json.dumps({"state": "pending", "request": mark})
    for _ in range(3):  # a stored answer may expire between SET NX and GET
        if store.redis.set(slot, pending, nx=True, ex=IDEMPOTENCY_TTL_S):
            break
        raw = store.redis.get(slot)
        if raw is None:
            continue
        return _replay(json.loads(raw), mark)
    else:
        raise HTTPError(409, "this Idempotency-Key is contended: retry")
    try:
        response = act()
    except BaseException:
        store.redis.delete(slot)
        raise
    if response.status >= 400:
        store.redis.delete(slot)
        return response
    stored = {
        "state": "done",
        "request": mark,
        "status": response.status,
        "content_type": response.content_type,
        "body": response.body.decode(),
    }
    store.redis.set(slot, json.dumps(stored), ex=IDEMPOTENCY_TTL_S)
    return response


def _replay(doc: dict[str, Any], mark: str) -> Response:
    if doc.get("request") != mark:
        raise HTTPError(
            422, "this Idempotency-Key was used for another request: use a new key per change"
        )
    if doc.get("state") != "done":
        raise HTTPError(409, "a request with this Idempotency-Key is in progress: retry shortly")
    return Response(
        status=int(doc["status"]),
        body=str(doc["body"]).encode(),
        content_type=str(doc.get("content_type") or "application/json"),
        headers=(REPLAYED,),
    )


def _fingerprint(request: Request) -> str:
    digest = hashlib.sha256(request.body).hexdigest()[:32]
    return f"{request.method} {request.path} {digest}"

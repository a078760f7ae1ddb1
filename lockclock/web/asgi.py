"""The API as an ASGI app (uvicorn, or mounted in FastAPI / Starlette), with no
framework: the body is read here, the sync router runs in a thread so Redis round
trips never block the event loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qs

from .http import MAX_BODY, Request
from .router import Router

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class ASGIApp:
    def __init__(self, router: Router) -> None:
        self.router = router

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":  # websockets: not served here
            await receive()
            await send({"type": "websocket.close", "code": 1000})
            return
        request = await _read_request(scope, receive)
        if request is None:  # the client went away
            return
        response = await asyncio.to_thread(self.router.handle, request)
        headers = [(k.encode(), v.encode("latin-1", "replace")) for k, v in response.all_headers()]
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        await send({"type": "http.response.body", "body": response.body})


async def _lifespan(receive: Receive, send: Send) -> None:
    """Nothing to start or stop (the store is made on first use): just say so."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def _read_request(scope: Scope, receive: Receive) -> Request | None:
    headers: dict[str, str] = {}
    for raw_name, raw_value in scope.get("headers") or []:
        name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    chunks: list[bytes] = []
    size = 0
    too_large = _declared_length(headers) > MAX_BODY
    while not too_large:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body") or b""
        size += len(chunk)
        too_large = size > MAX_BODY
        chunks.append(chunk)
        if not message.get("more_body"):
            break
    client = scope.get("client")
    return Request(
        method=str(scope.get("method") or "GET").upper(),
        path=_route_path(str(scope.get("path") or "/"), str(scope.get("root_path") or "")),
        query=parse_qs(_latin1(scope.get("query_string")), keep_blank_values=True),
        headers=headers,
        body=b"" if too_large else b"".join(chunks),
        body_too_large=too_large,
        root_path=str(scope.get("root_path") or ""),
        client=str(client[0]) if client else None,
    )


def _latin1(raw: Any) -> str:
    return bytes(raw or b"").decode("latin-1")


def _declared_length(headers: dict[str, str]) -> int:
    try:
        return int(headers.get("content-length") or 0)
    except ValueError:
        return 0


def _route_path(path: str, root_path: str) -> str:
    """ASGI's `path` includes the mount point (`root_path`) since the spec said so; older
    Starlette stripped it already. Either way, the route's path."""
    if root_path and path.startswith(root_path):
        rest = path[len(root_path) :]
        if rest == "" or rest.startswith("/"):
            return rest or "/"
    return path or "/"

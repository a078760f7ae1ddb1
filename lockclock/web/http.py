"""The request and response the router core works on, whichever server carries them
(ASGI, WSGI): plain data, so the core and the host app's `authorize` hook see one shape.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

MAX_BODY = 64 * 1024  # an operator's request is a few fields; anything larger is refused
MAX_ERROR = 500  # characters of an error text in a response, so no answer grows unbounded
JSON = "application/json"


@dataclass(frozen=True, kw_only=True)
class Request:
    """One HTTP request. `headers` has lower-case names (repeats joined with ', '),
    `path` is relative to where the app is mounted (`root_path`)."""

    method: str
    path: str
    query: Mapping[str, list[str]] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    body_too_large: bool = False  # the adapter stopped reading past MAX_BODY
    root_path: str = ""
    client: str | None = None

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def arg(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else None


@dataclass(frozen=True, kw_only=True)
class Response:
    status: int
    body: bytes = b""
    content_type: str = JSON
    headers: tuple[tuple[str, str], ...] = ()

    def all_headers(self) -> list[tuple[str, str]]:
        """What goes on the wire: ours, then the content type and length."""
        return [
            *self.headers,
            ("content-type", self.content_type),
            ("content-length", str(len(self.body))),
            ("cache-control", "no-store"),
        ]


class HTTPError(Exception):
    """Raised by a route or the auth step to answer with `status` and {"error": text}."""

    def __init__(
        self, status: int, message: str, *, headers: tuple[tuple[str, str], ...] = ()
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers


def json_response(status: int, doc: Any, *, headers: tuple[tuple[str, str], ...] = ()) -> Response:
    body = json.dumps(doc, separators=(",", ":"), default=str).encode()
    return Response(status=status, body=body, headers=headers)


def error_response(
    status: int, message: str, *, headers: tuple[tuple[str, str], ...] = ()
) -> Response:
    return json_response(status, {"error": capped(message)}, headers=headers)


def capped(text: str, limit: int = MAX_ERROR) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."

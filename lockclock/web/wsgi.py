"""The same routes as a WSGI app, for Flask and Django hosts (and gunicorn without
uvicorn workers): a thin adapter over the router core, which is synchronous already.
"""

from __future__ import annotations

from collections.abc import Iterable
from http import HTTPStatus
from typing import TYPE_CHECKING
from urllib.parse import parse_qs

from .http import MAX_BODY, Request
from .router import Router

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment


class WSGIApp:
    def __init__(self, router: Router) -> None:
        self.router = router

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        response = self.router.handle(_request(environ))
        try:
            phrase = HTTPStatus(response.status).phrase
        except ValueError:
            phrase = "Unknown"
        start_response(f"{response.status} {phrase}", response.all_headers())
        return [response.body]


def _text(environ: WSGIEnvironment, name: str) -> str:
    """PEP 3333 hands paths over as latin-1 of the raw bytes: read them as UTF-8."""
    raw = str(environ.get(name) or "")
    return raw.encode("latin-1", "replace").decode("utf-8", "replace")


def _request(environ: WSGIEnvironment) -> Request:
    headers: dict[str, str] = {}
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            headers[key[5:].replace("_", "-").lower()] = str(value)
        elif key in ("CONTENT_TYPE", "CONTENT_LENGTH") and value:
            headers[key.replace("_", "-").lower()] = str(value)
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    too_large = length > MAX_BODY
    body = b""
    stream = environ.get("wsgi.input")
    if stream is not None and not too_large:
        if length > 0:
            body = stream.read(length)
        elif environ.get("wsgi.input_terminated"):  # chunked, the server says where it ends
            body = stream.read(MAX_BODY + 1)
            too_large = len(body) > MAX_BODY
    return Request(
        method=str(environ.get("REQUEST_METHOD") or "GET").upper(),
        path=_text(environ, "PATH_INFO") or "/",
        query=parse_qs(str(environ.get("QUERY_STRING") or ""), keep_blank_values=True),
        headers=headers,
        body=b"" if too_large else body,
        body_too_large=too_large,
        root_path=_text(environ, "SCRIPT_NAME"),
        client=environ.get("REMOTE_ADDR"),
    )

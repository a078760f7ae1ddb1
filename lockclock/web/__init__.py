"""lockclock's HTTP ops API: the status, history and audit that the CLI prints, and
pause / resume / trigger / cancel, as JSON over HTTP. No web framework: `create_app`
is a plain ASGI app (serve it with `lockclock web`, or mount it in FastAPI or
Starlette), `create_wsgi_app` the same routes for Flask and Django.

Default deny: set LOCKCLOCK_READ_TOKEN (reads) and/or LOCKCLOCK_API_TOKEN (reads and
writes), or pass `authorize=` to use the host app's own users.
"""

from __future__ import annotations

from ..coordination.store import Store
from .asgi import ASGIApp
from .auth import API_TOKEN_ENV, READ_TOKEN_ENV, Authorize
from .core import build_router
from .http import Request, Response
from .wsgi import WSGIApp


def create_app(
    *,
    store: Store | None = None,
    redis_url: str | None = None,
    namespace: str | None = None,
    read_token: str | None = None,
    api_token: str | None = None,
    authorize: Authorize | None = None,
) -> ASGIApp:
    """The ASGI app. `redis_url` / `namespace` override REDIS_URL / LOCKCLOCK_NAMESPACE
    when no `store` is given; the tokens default to the environment's; `authorize(request,
    action)` ("read" or "write") returns the actor for the audit log, or None: 403."""
    return ASGIApp(
        build_router(
            store=store,
            redis_url=redis_url,
            namespace=namespace,
            read_token=read_token,
            api_token=api_token,
            authorize=authorize,
        )
    )


def create_wsgi_app(
    *,
    store: Store | None = None,
    redis_url: str | None = None,
    namespace: str | None = None,
    read_token: str | None = None,
    api_token: str | None = None,
    authorize: Authorize | None = None,
) -> WSGIApp:
    """The same routes and options as `create_app`, as a WSGI app."""
    return WSGIApp(
        build_router(
            store=store,
            redis_url=redis_url,
            namespace=namespace,
            read_token=read_token,
            api_token=api_token,
            authorize=authorize,
        )
    )


def as_wsgi(app: ASGIApp) -> WSGIApp:
    """A WSGI app on the same router as `app` (one store, one auth), for a host that
    serves both."""
    return WSGIApp(app.router)


__all__ = [
    "API_TOKEN_ENV",
    "READ_TOKEN_ENV",
    "ASGIApp",
    "Authorize",
    "Request",
    "Response",
    "WSGIApp",
    "as_wsgi",
    "create_app",
    "create_wsgi_app",
]

"""`lockclock web`: the HTTP ops API (lockclock.web) on uvicorn, e.g. a Heroku `web`
dyno beside the clocks. It runs no schedule: it reads and writes the same Redis keys
as `lockclock status` and `lockclock pause`."""

from __future__ import annotations

import logging
import os
import socket
import sys
from types import FrameType
from typing import Any

import click

from ...logs import event
from ...settings import resolve
from .. import logfmt, signals
from ..connection import connect, describe_url
from .base import fail, load_clock, main, namespace_option, redis_url_option

log = logging.getLogger("lockclock.web")


@main.command()
@click.argument("target", required=False)
@click.option("--host", default="0.0.0.0", show_default=True, help="Interface to listen on.")
@click.option(
    "--port",
    default=None,
    type=click.IntRange(0, 65535),
    help="Port to listen on.  [env var: PORT; default: 8000]",
)
@redis_url_option
@namespace_option
@click.option("--log-level", default=None, help="DEBUG, INFO, WARNING or ERROR.")
def web(
    target: str | None,
    host: str,
    port: int | None,
    redis_url: str | None,
    namespace: str | None,
    log_level: str | None,
) -> None:
    """Serve the HTTP ops API until SIGTERM.

    TARGET (MODULE[:ATTR]) is optional: give it to use its Clock(...)'s namespace and
    Redis, as `lockclock run` would. Set LOCKCLOCK_READ_TOKEN and/or LOCKCLOCK_API_TOKEN:
    without either, only /healthz answers.
    """
    signals.hold_early()  # a SIGTERM from here on is a clean stop, not a kill
    try:
        import uvicorn
    except ImportError:
        fail("lockclock web needs uvicorn: pip install 'lockclock[web]'")
    from ...web import create_app

    layer: dict[str, str | None] = {"redis_url": redis_url, "namespace": namespace}
    if target:
        options = load_clock(target).options
        layer = {k: v or options.get(k) for k, v in layer.items()}
    settings = resolve({**layer, "sentry_dsn": False, "log_level": log_level})
    if settings.redis_url:
        connect(settings.redis_url).close()  # a bad REDIS_URL fails now, not per request
    logfmt.setup(settings.log_level)
    if port is None:
        port = _env_port()
    app = create_app(redis_url=layer["redis_url"], namespace=layer["namespace"])
    auth = app.router.auth
    started: dict[str, Any] = {
        "url": f"http://{host}:{port}",
        "namespace": settings.namespace,
        "redis": describe_url(settings.redis_url) if settings.redis_url else "embedded",
        "reads": "open" if auth.reads_open else "closed",
        "writes": "open" if auth.writes_open else "closed",
        "hint": None if auth.reads_open else "set LOCKCLOCK_READ_TOKEN or LOCKCLOCK_API_TOKEN",
    }
    config = uvicorn.Config(
        app, host=host, port=port, log_level="warning", access_log=False, lifespan="on"
    )

    class Server(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets)
            if self.started:  # listening: say so once, tokens never shown
                event(log, "web_started", **started)

    server = Server(config)

    def stop(signum: int, frame: FrameType | None) -> None:
        server.handle_exit(signum, frame)

    signals.install(stop)  # uvicorn takes the signals over while it serves, then gives back
    server.run()  # a port in use: uvicorn logs it and exits 3
    event(log, "web_stopped", url=started["url"])
    sys.stdout.flush()


def _env_port() -> int:
    raw = os.environ.get("PORT") or "8000"
    try:
        return int(raw)
    except ValueError:
        fail(f"invalid PORT={raw!r}: expected a port number")

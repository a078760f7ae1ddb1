"""Wiring for one clock process: settings, Redis, the loop. Shared by CLI and Clock.run."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from . import logfmt
from .clock import ClockLoop
from .connection import connect, describe_url
from .embedded import ensure_embedded
from .logfmt import event
from .sentry_setup import setup_alerts
from .settings import Settings, resolve
from .store import Store

if TYPE_CHECKING:
    from .app import Clock

log = logging.getLogger("lockclock.run")


def redis_url_for(settings: Settings) -> str:
    """The configured URL, or the embedded development server's (started if needed)."""
    if settings.redis_url:
        return settings.redis_url
    url, started = ensure_embedded()
    event(
        log,
        "embedded_redis",
        level=logging.WARNING,
        url=url,
        started=started,
        note="REDIS_URL is unset: using a local development Redis; set REDIS_URL in production",
    )
    return url


def build_loop(clock: Clock, settings: Settings) -> ClockLoop:
    url = redis_url_for(settings)
    lease_ttl = settings.lease_ttl_s
    # Commands must fail well inside a lease; blocking waits need a longer socket timeout.
    client = connect(url, socket_timeout=max(0.25, min(1.0, lease_ttl / 2)))
    blocking = connect(url, socket_timeout=lease_ttl + 2.0, retries=0)
    event(log, "redis", url=describe_url(url), namespace=settings.namespace)
    return ClockLoop(
        schedules=clock.schedules,
        store=Store(client, settings.namespace),
        blocking=blocking,
        settings=settings,
        alerts=setup_alerts(settings, clock.schedules),
    )


def run_clock(clock: Clock, overrides: dict[str, Any]) -> int:
    settings = resolve(overrides, clock.options)
    logfmt.setup(settings.log_level)
    loop = build_loop(clock, settings)
    loop.install_signal_handlers()
    return loop.run()

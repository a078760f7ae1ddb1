"""Wiring one clock process: settings, Redis, hooks, the loop. Shared by `lockclock run`
and `Clock.run`."""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import redis

from ..coordination.store import Store
from ..engine.leadership import new_clock_id
from ..engine.loop import ClockLoop
from ..hooks import Hook, Hooks
from ..logs import EventLog
from ..scheduling import Schedule
from ..sentry.options import AlertOptions
from ..settings import Settings, resolve
from . import logfmt, signals
from .connection import connect, describe_url
from .embedded import ensure_embedded
from .log_hook import LogHook

if TYPE_CHECKING:
    from ..app import Clock
    from ..sentry.hook import SentryHook

log = EventLog("lockclock.run")


def redis_url_for(settings: Settings) -> str:
    """The configured URL, or the embedded development server's (started if needed)."""
    if settings.redis_url:
        return settings.redis_url
    url, started = ensure_embedded()
    log.log(
        logging.WARNING,
        "embedded_redis",
        url=url,
        started=started,
        note="REDIS_URL is unset: using a local development Redis; set REDIS_URL in production",
    )
    return url


def sentry_hook(
    settings: Settings, schedules: Sequence[Schedule], alerting: Mapping[str, AlertOptions]
) -> SentryHook | None:
    """The Sentry hook, when SENTRY_DSN (or Clock(sentry=...)) is set or the app called
    sentry_sdk.init itself; the SDK is imported only then, as it is slow to import."""
    if settings.sentry_dsn is None and "sentry_sdk" not in sys.modules:
        EventLog("lockclock.sentry").info("sentry", enabled=False, reason="SENTRY_DSN is unset")
        return None
    from ..sentry.setup import setup_sentry

    return setup_sentry(
        dsn=settings.sentry_dsn,
        namespace=settings.namespace,
        lease_ttl_s=settings.lease_ttl_s,
        schedules=schedules,
        alerting=alerting,
    )


def assemble_loop(
    *,
    schedules: Sequence[Schedule],
    alerting: Mapping[str, AlertOptions],
    settings: Settings,
    store: Store,
    blocking: redis.Redis,
    clock_id: str | None = None,
) -> ClockLoop:
    """The loop with its hooks (log lines, and Sentry when configured)."""
    clock_id = clock_id or new_clock_id()
    hooks: list[Hook] = [LogHook(clock_id)]
    sentry = sentry_hook(settings, schedules, alerting)
    monitors: dict[str, str] = {}
    if sentry is not None:
        hooks.append(sentry)
        monitors = {name: m.slug for name, m in sentry.monitors.items() if m is not None}
    return ClockLoop(
        schedules=schedules,
        store=store,
        blocking=blocking,
        settings=settings,
        hooks=Hooks(hooks),
        clock_id=clock_id,
        monitors=monitors,
    )


def build_loop(clock: Clock, settings: Settings) -> ClockLoop:
    url = redis_url_for(settings)
    lease_ttl = settings.lease_ttl_s
    # Commands must fail well inside a lease; blocking waits need a longer socket timeout.
    client = connect(url, socket_timeout=max(0.25, min(1.0, lease_ttl / 2)))
    blocking = connect(url, socket_timeout=lease_ttl + 2.0, retries=0)
    log.info("redis", url=describe_url(url), namespace=settings.namespace)
    return assemble_loop(
        schedules=clock.schedules,
        alerting=clock.alerting,
        settings=settings,
        store=Store(client, settings.namespace),
        blocking=blocking,
    )


def run_clock(clock: Clock, overrides: dict[str, Any]) -> int:
    settings = resolve(overrides, clock.options)
    logfmt.setup(settings.log_level)
    loop = build_loop(clock, settings)
    signals.install(loop.on_signal)
    return loop.run()

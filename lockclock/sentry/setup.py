"""Connecting a process to Sentry: whose client reports (the app's own `sentry_sdk.init`,
or one built from SENTRY_DSN), and the hook that reports through it."""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping, Sequence

import sentry_sdk
from sentry_sdk.integrations.logging import ignore_logger

from ..logs import EventLog
from ..redact import redact_dsn
from ..scheduling import Schedule
from .hook import SentryHook
from .monitors import plan_monitors
from .options import AlertOptions

_RELEASE_VARS = ("SENTRY_RELEASE", "HEROKU_BUILD_COMMIT", "HEROKU_SLUG_COMMIT")
# lockclock reports job failures itself, fingerprinted; Sentry's logging integration
# would send each one again from its log line
_OWN_LOGGERS = ("lockclock.jobs", "lockclock.sentry")


def release_from_env(environ: Mapping[str, str]) -> str | None:
    """SENTRY_RELEASE, else Heroku's commit (dyno metadata), else its release version."""
    for var in (*_RELEASE_VARS, "HEROKU_RELEASE_VERSION"):
        if environ.get(var):
            return environ[var]
    return None


def setup_sentry(
    *,
    dsn: str | None,
    namespace: str,
    lease_ttl_s: float,
    schedules: Sequence[Schedule],
    alerting: Mapping[str, AlertOptions],
    environ: Mapping[str, str] | None = None,
) -> SentryHook | None:
    """The Sentry hook for this process, or None. The app's own `sentry_sdk.init` wins
    (we report through its client and never init again); else the DSN (SENTRY_DSN or
    Clock(sentry=...)); `dsn=""` means turned off with Clock(sentry=False)."""
    env = os.environ if environ is None else environ
    log = EventLog("lockclock.sentry")
    if dsn == "":
        log.info("sentry", enabled=False, reason="Clock(sentry=False)")
        return None
    client = sentry_sdk.get_client()
    own_client = not client.is_active()
    if own_client and not dsn:
        log.info("sentry", enabled=False, reason="SENTRY_DSN is unset")
        return None
    # before init, so that two schedules sharing a slug stop the clock before any report
    monitors = plan_monitors(schedules, alerting, namespace, lease_ttl_s)
    source = "the app's sentry_sdk.init"
    if own_client:
        source = "SENTRY_DSN or Clock(sentry=...)"
        sentry_sdk.init(
            dsn=dsn,
            environment=env.get("SENTRY_ENVIRONMENT") or None,
            release=release_from_env(env),
            # no breadcrumb per Redis command on the tick path
            auto_enabling_integrations=False,
        )
        client = sentry_sdk.get_client()
    for name in _OWN_LOGGERS:
        ignore_logger(name)
    options = client.options
    log.info(
        "sentry",
        enabled=True,
        source=source,
        dsn=redact_dsn(str(client.dsn or "")),
        environment=options.get("environment"),
        release=options.get("release"),
        monitors=sum(m is not None for m in monitors.values()),
        without_monitor=sum(m is None for m in monitors.values()),
    )
    dyno = env.get("DYNO") or socket.gethostname()
    return SentryHook(namespace=namespace, monitors=monitors, alerting=alerting, dyno=dyno)

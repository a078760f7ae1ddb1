"""Connecting a process to Sentry: whose client reports (the app's own, or one built from
SENTRY_DSN), and `lockclock alerts test`, which learns from Sentry's HTTP answer whether
it accepts this app's events and check-ins."""

from __future__ import annotations

import gzip
import logging
import os
import socket
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import sentry_sdk
from sentry_sdk.crons import capture_checkin
from sentry_sdk.envelope import Envelope
from sentry_sdk.integrations.logging import ignore_logger
from sentry_sdk.transport import Transport

from . import __version__
from .alerts import Alerts
from .connection import redact_dsn
from .logfmt import event
from .monitors import plan_monitors, slug_for
from .schedule import Schedule
from .settings import Settings

log = logging.getLogger("lockclock.alerts")
TIMEOUT_S = 10.0

_RELEASE_VARS = ("SENTRY_RELEASE", "HEROKU_BUILD_COMMIT", "HEROKU_SLUG_COMMIT")


def release_from_env(environ: Mapping[str, str]) -> str | None:
    """SENTRY_RELEASE, else Heroku's commit (dyno metadata), else its release version."""
    for var in (*_RELEASE_VARS, "HEROKU_RELEASE_VERSION"):
        if environ.get(var):
            return environ[var]
    return None


def setup_alerts(
    settings: Settings, schedules: Sequence[Schedule], environ: Mapping[str, str] | None = None
) -> Alerts | None:
    """Alerts for this process, or None. The app's own `sentry_sdk.init` wins (we report
    through its client and never init again); else SENTRY_DSN / Clock(sentry=...)."""
    env = os.environ if environ is None else environ
    if settings.sentry_dsn == "":
        event(log, "sentry", enabled=False, reason="Clock(sentry=False)")
        return None
    client = sentry_sdk.get_client()
    own_client = not client.is_active()
    if own_client and not settings.sentry_dsn:
        event(log, "sentry", enabled=False, reason="SENTRY_DSN is unset")
        return None
    # before init, so that two schedules sharing a slug stop the clock before any report
    monitors = plan_monitors(schedules, settings.namespace, settings.lease_ttl_s)
    source = "the app's sentry_sdk.init"
    if own_client:
        source = "SENTRY_DSN or Clock(sentry=...)"
        sentry_sdk.init(
            dsn=settings.sentry_dsn,
            environment=env.get("SENTRY_ENVIRONMENT") or None,
            release=release_from_env(env),
            # no breadcrumb per Redis command on the tick path
            auto_enabling_integrations=False,
        )
        client = sentry_sdk.get_client()
    # job failures are captured here with a fingerprint; the logging integration would
    # send each one again from its job_failed log line
    ignore_logger("lockclock.worker")
    ignore_logger("lockclock.alerts")
    options = client.options
    event(
        log,
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
    return Alerts(namespace=settings.namespace, monitors=monitors, dyno=dyno)


# -- `lockclock alerts test` ------------------------------------------------------


@dataclass(kw_only=True)
class Delivery:
    kinds: str  # the envelope's item types, e.g. "event" or "check_in"
    status: int | None = None  # Sentry's HTTP status
    error: str | None = None  # why nothing was answered

    @property
    def accepted(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class ReportingTransport(Transport):
    """Posts each envelope at once and keeps Sentry's answer. The SDK's own transport
    queues and only logs failures in debug mode: right for a clock, useless for telling
    a user whether their DSN works. A `Transport` subclass is the SDK's documented way to
    send envelopes yourself."""

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        super().__init__(options)
        self.deliveries: list[Delivery] = []

    def capture_envelope(self, envelope: Envelope) -> None:
        kinds = ",".join(str(item.type) for item in envelope.items)
        assert self.parsed_dsn is not None
        auth = self.parsed_dsn.to_auth(f"lockclock/{__version__}")
        request = urllib.request.Request(
            auth.get_api_url(),
            data=gzip.compress(envelope.serialize()),
            method="POST",
            headers={
                "Content-Type": "application/x-sentry-envelope",
                "Content-Encoding": "gzip",
                "X-Sentry-Auth": auth.to_header(),
                "User-Agent": f"lockclock/{__version__}",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
                self.deliveries.append(Delivery(kinds=kinds, status=response.status))
        except urllib.error.HTTPError as exc:
            self.deliveries.append(Delivery(kinds=kinds, status=exc.code))
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            self.deliveries.append(
                Delivery(kinds=kinds, error=f"{type(reason).__name__}: {reason}")
            )


@dataclass(kw_only=True)
class TestReport:
    dsn: str  # redacted
    environment: str | None
    release: str | None
    slug: str
    event: Delivery
    checkin: Delivery


def send_test(dsn: str, *, namespace: str, environ: Mapping[str, str] | None = None) -> TestReport:
    """A test event and a test check-in (no monitor_config, so no monitor is created),
    through a client of their own, so an app's client and its queue are left alone."""
    env = os.environ if environ is None else environ
    app_options = sentry_sdk.get_client().options if sentry_sdk.get_client().is_active() else {}
    client = sentry_sdk.Client(
        dsn=dsn,
        transport=ReportingTransport,
        environment=app_options.get("environment") or env.get("SENTRY_ENVIRONMENT") or None,
        release=app_options.get("release") or release_from_env(env),
        default_integrations=False,
        auto_enabling_integrations=False,
    )
    transport = cast(ReportingTransport, client.transport)
    slug = slug_for(namespace, "alerts-test")
    dyno = env.get("DYNO") or socket.gethostname()
    with sentry_sdk.new_scope() as scope:
        scope.set_client(client)
        sentry_sdk.capture_message(
            f"lockclock alerts test from {dyno}: Sentry accepts this app's events",
            level="info",
            fingerprint=["lockclock", "alerts-test", namespace],
            tags={"namespace": namespace, "dyno": dyno[:200]},
        )
        capture_checkin(monitor_slug=slug, status="ok")
    sent = {d.kinds: d for d in transport.deliveries}
    missing = Delivery(kinds="", error="the SDK dropped it before sending (before_send?)")
    return TestReport(
        dsn=redact_dsn(dsn),
        environment=client.options.get("environment"),
        release=client.options.get("release"),
        slug=slug,
        event=sent.get("event", missing),
        checkin=sent.get("check_in", missing),
    )

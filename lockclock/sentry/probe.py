"""`lockclock alerts test`: learn from Sentry's HTTP answer whether it accepts this app's
events and check-ins."""

from __future__ import annotations

import gzip
import os
import socket
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

import sentry_sdk
from sentry_sdk.crons import capture_checkin
from sentry_sdk.envelope import Envelope
from sentry_sdk.transport import Transport

from ..redact import redact_dsn
from ..version import __version__
from .monitors import slug_for
from .setup import release_from_env

TIMEOUT_S = 10.0


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

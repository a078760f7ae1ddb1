"""`lockclock alerts test`: does Sentry accept this app's events and check-ins?"""

from __future__ import annotations

import click

from ...app import Clock
from ...settings import resolve
from .base import fail, load_clock, main


@main.group(name="alerts")
def alerts_group() -> None:
    """Sentry alerts (set SENTRY_DSN): check the wiring."""


@alerts_group.command(name="test")
@click.argument("target", required=False)
def alerts_test(target: str | None) -> None:
    """Send a test event and a test check-in to Sentry; exit 0 if it accepted both.

    TARGET (MODULE[:ATTR]) is optional: give it to use the app's Clock(sentry=...) or its
    own sentry_sdk.init, as `lockclock run` would.
    """
    import sentry_sdk  # here, not at import: the other commands start without the SDK

    from ...sentry.probe import send_test

    clock = load_clock(target) if target else Clock()
    settings = resolve({}, clock.options)
    if settings.sentry_dsn == "":
        fail("Sentry alerts are off for this clock (Clock(sentry=False)): nothing to test")
    client = sentry_sdk.get_client()
    dsn = str(client.dsn) if client.is_active() and client.dsn else settings.sentry_dsn
    if not dsn:
        fail(
            "SENTRY_DSN is unset: set it to your Sentry project's DSN "
            "(Project Settings > Client Keys), e.g. heroku config:set SENTRY_DSN=..."
        )
    report = send_test(dsn, namespace=settings.namespace)
    click.echo(f"sentry {report.dsn}  environment {report.environment}  release {report.release}")
    problems: list[str] = []
    checks = (("test event", report.event), (f"test check-in ({report.slug})", report.checkin))
    for what, sent in checks:
        if sent.accepted:
            click.echo(f"{what}: accepted (HTTP {sent.status})")
        elif sent.status is not None:
            click.echo(f"{what}: refused (HTTP {sent.status})")
            problems.append(
                f"Sentry refused the {what} with HTTP {sent.status}: "
                + _REFUSALS.get(sent.status, "see Sentry's status page and the DSN")
            )
        else:
            click.echo(f"{what}: not delivered ({sent.error})")
            problems.append(
                f"Sentry is unreachable for the {what} ({sent.error}): check SENTRY_DSN's "
                "host and this machine's network"
            )
    if problems:
        fail(problems[0])


_REFUSALS = {
    401: "check the key in SENTRY_DSN (Project Settings > Client Keys)",
    403: "check the key in SENTRY_DSN, and that it is enabled (Project Settings > Client Keys)",
    404: "check the project id at the end of SENTRY_DSN",
    413: "the envelope was too large",
    429: "rate limited or over quota (Settings > Subscription, or the key's rate limit)",
}

"""`lockclock check`: validate an app's schedules and show their next instants."""

from __future__ import annotations

import json
import sys
from datetime import datetime, timezone
from typing import Any

import click

from ...context import tick_datetime
from ...redact import redact_dsn
from ...scheduling.words import in_words
from ...sentry.monitors import Monitor, no_monitor_reason, plan_monitors
from ...sentry.options import AlertOptions
from ...settings import resolve
from .base import fail, load_clock, main


def _parse_from(value: str | None) -> datetime:
    if not value:
        return datetime.now(timezone.utc)
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        fail(f"invalid --from {value!r}: use ISO 8601, e.g. 2026-03-08T00:00:00-05:00")
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


def _monitor_json(mon: Monitor | None) -> dict[str, Any] | None:
    return {"slug": mon.slug, "config": mon.config} if mon else None


def _sentry_state(dsn: str | None) -> str:
    """Where check-ins would go; the DSN's keys are never shown."""
    if "sentry_sdk" in sys.modules and sys.modules["sentry_sdk"].get_client().is_active():
        client = sys.modules["sentry_sdk"].get_client()
        return f"Sentry: the app's own sentry_sdk.init ({redact_dsn(str(client.dsn))})"
    if dsn == "":
        return "Sentry: off (Clock(sentry=False)): no check-ins or events are sent"
    if not dsn:
        return "Sentry: off (SENTRY_DSN is unset): no check-ins or events are sent"
    return f"Sentry: {redact_dsn(dsn)}"


@main.command()
@click.argument("target")
@click.option("--from", "start", default=None, help="ISO instant to start from (default now).")
@click.option("--count", default=5, show_default=True, type=click.IntRange(1, 1000))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def check(target: str, start: str | None, count: int, as_json: bool) -> None:
    """Validate TARGET's schedules and print the next COUNT instants of each."""
    clock = load_clock(target)
    t0 = _parse_from(start)
    settings = resolve({}, clock.options)
    sentry_on = not _sentry_state(settings.sentry_dsn).startswith("Sentry: off")
    alerting = clock.alerting
    monitors = plan_monitors(
        clock.schedules, alerting, settings.namespace, settings.lease_ttl_s, unique=sentry_on
    )
    report: list[dict[str, Any]] = []
    for s in clock.schedules:
        ticks, t = [], int(t0.timestamp() * 1000)
        for _ in range(count):
            t = s.next_after(t)
            ticks.append(t)
        mon = monitors[s.name]
        report.append(
            {
                "name": s.name,
                "trigger": s.describe(),
                "words": in_words(s.trigger),
                "enabled": s.enabled,
                "catchup": s.catchup,
                "monitor": _monitor_json(mon),
                "monitor_note": None
                if mon
                else no_monitor_reason(s, alerting.get(s.name, AlertOptions())),
                "next": [
                    {
                        "utc": tick_datetime(x).isoformat(),
                        "local": tick_datetime(x).astimezone(s.tz).isoformat(),
                    }
                    for x in ticks
                ],
            }
        )
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    for item in report:
        state = "" if item["enabled"] else "  (paused)"
        click.echo(f"{item['name']}: {item['trigger']}, catchup={item['catchup']}{state}")
        click.echo(f"  reads: {item['words']}")
        mon = monitors[item["name"]]
        click.echo(f"  Sentry monitor {mon.describe()}" if mon else f"  {item['monitor_note']}")
        for n in item["next"]:
            click.echo(f"  {n['utc']}  local {n['local']}")
    click.echo(f"{len(report)} schedule(s) OK; {_sentry_state(settings.sentry_dsn)}")

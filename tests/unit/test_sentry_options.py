"""Sentry's per-schedule options, slugs and monitor configs: pure, no SDK and no Redis."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from lockclock import Clock, ScheduleError
from lockclock.errors import ConfigError
from lockclock.options import BuiltSchedule, build, parse_options
from lockclock.redact import redact_dsn
from lockclock.sentry.monitors import (
    Monitor,
    default_margin_min,
    monitor_for,
    plan_monitors,
    slug_for,
)
from lockclock.settings import resolve


def job(*_: Any) -> None: ...


# -- monitors and settings, pure -----------------------------------------------------------


def test_slugs_are_stable_short_and_distinct() -> None:
    assert (
        slug_for("lockclock", "app.jobs.Nightly_Invoices") == "lockclock-app-jobs-nightly_invoices"
    )
    assert slug_for("billing", "a  b//c") == "billing-a-b-c"
    long_a = "app.reports." + "x" * 60 + ".daily"
    long_b = "app.reports." + "x" * 60 + ".weekly"
    a, b = slug_for("lockclock", long_a), slug_for("lockclock", long_b)
    assert a != b and len(a) == len(b) == 50
    assert a == slug_for("lockclock", long_a)  # no randomness: a restart keeps the monitor
    for slug in (a, b, slug_for("NS", "Ünïcode job!")):
        assert slug == slug.lower() and set(slug) <= set("abcdefghijklmnopqrstuvwxyz0123456789-_")


def built(*args: Any, **kwargs: Any) -> BuiltSchedule:
    return build(job, parse_options(args, kwargs))


def monitor(b: BuiltSchedule, namespace: str, lease_ttl_s: float) -> Monitor | None:
    return monitor_for(b.schedule, b.alerting, namespace, lease_ttl_s)


def plan(scheds: list[BuiltSchedule], namespace: str, lease: float, **kw: Any) -> dict[str, Any]:
    alerting = {b.schedule.name: b.alerting for b in scheds}
    return plan_monitors([b.schedule for b in scheds], alerting, namespace, lease, **kw)


def test_monitor_config_follows_the_schedule() -> None:
    nightly = built("30 2 * * *", tz="Europe/London", name="nightly",
                            checkin_margin=5, max_runtime=timedelta(hours=2),
                            failure_issue_threshold=2, recovery_threshold=3)  # fmt: skip
    mon = monitor(nightly, "billing", lease_ttl_s=2)
    assert mon is not None and mon.slug == "billing-nightly"
    assert mon.config == {
        "schedule": {"type": "crontab", "value": "30 2 * * *"},
        "timezone": "Europe/London",
        "checkin_margin": 5,
        "max_runtime": 120,
        "failure_issue_threshold": 2,
        "recovery_threshold": 3,
    }
    quarter = built(every="15m", name="q", max_runtime=timedelta(seconds=1))
    mon = monitor(quarter, "ns", lease_ttl_s=2)
    assert mon is not None
    assert mon.config["schedule"] == {"type": "interval", "value": 15, "unit": "minute"}
    assert mon.config["max_runtime"] == 1  # Sentry counts whole minutes; lockclock uses 1 s
    assert mon.config["checkin_margin"] == default_margin_min(2) == 1
    assert default_margin_min(90) == 2 and default_margin_min(300) == 6
    custom = built(every="1h", name="h", monitor="my-hourly")
    assert monitor(custom, "ns", 2).slug == "my-hourly"  # type: ignore[union-attr]
    for kwargs in ({"cron": "*/10 * * * * *"}, {"every": "90s"}, {"every": "1h", "monitor": False}):
        cron = kwargs.pop("cron", None)
        assert monitor(built(cron, **kwargs), "ns", 2) is None  # type: ignore[arg-type]


def test_colliding_slugs_are_refused() -> None:
    scheds = [
        built(every="1h", name="a.b"),
        built(every="1h", name="A-b"),
    ]
    with pytest.raises(ConfigError, match=r"monitor='\.\.\.'"):
        plan(scheds, "ns", 2)
    assert len(plan(scheds, "ns", 2, unique=False)) == 2  # Sentry off: no matter
    scheds[1] = built(every="1h", name="A-b", monitor="a-b-other")
    assert {m.slug for m in plan(scheds, "ns", 2).values() if m} == {"ns-a-b", "a-b-other"}


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"cron": "*/10 * * * * *", "monitor": True}, "monitor=True"),
        ({"every": "90s", "monitor": "my-slug"}, "monitor='my-slug'"),
        ({"every": "1m", "monitor": "Bad Slug!"}, "slug"),
        ({"every": "1m", "checkin_margin": 0}, "checkin_margin"),
        ({"every": "1m", "max_runtime": 1.5}, "max_runtime"),
        ({"every": "1m", "alert_late_after": -1}, "alert_late_after"),
        ({"every": "1m", "failure_issue_threshold": 0}, "failure_issue_threshold"),
    ],
)
def test_bad_alert_options_fail_at_decoration(kwargs: dict[str, Any], needle: str) -> None:
    cron = kwargs.pop("cron", None)
    with pytest.raises(ScheduleError) as err:
        Clock().schedule(cron, name="job", **kwargs)(job)
    text = str(err.value)
    assert needle in text and "'job'" in text and "\n" not in text


def test_sentry_dsn_settings_precedence_and_redaction() -> None:
    dsn = "https://abc123key@o1.ingest.sentry.io/42"
    env = {"SENTRY_DSN": dsn}
    assert resolve({}, environ=env).sentry_dsn == dsn
    assert resolve({}, environ={}).sentry_dsn is None
    assert resolve(Clock(sentry=False).options, environ=env).sentry_dsn == ""  # off beats env
    other = "https://other@o1.ingest.sentry.io/7"
    assert resolve(Clock(sentry=other).options, environ=env).sentry_dsn == other
    assert "abc123key" not in repr(resolve({}, environ=env))
    with pytest.raises(ConfigError) as err:
        resolve({}, environ={"SENTRY_DSN": "https://s3cretkey@/not-a-project"})
    assert "s3cretkey" not in str(err.value) and "SENTRY_DSN" in str(err.value)
    with pytest.raises(ConfigError, match="sentry=True"):
        resolve(Clock(sentry=True).options, environ={})
    assert redact_dsn("https://pub:sec@o1.ingest.sentry.io:8443/42") == (
        "https://***@o1.ingest.sentry.io:8443/42"
    )


# -- real clocks, a stand-in Sentry ---------------------------------------------------------

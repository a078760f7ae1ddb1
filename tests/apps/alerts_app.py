"""A clock whose Sentry wiring is set in code, for tests/test_alerts.py.

ALERTS_APP_SENTRY_OFF=1 gives Clock(sentry=False); ALERTS_APP_DSN makes the app call
sentry_sdk.init itself, as an app that already uses Sentry would.
"""

from __future__ import annotations

import os
from datetime import timedelta

import sentry_sdk

from lockclock import Clock

if os.environ.get("ALERTS_APP_DSN"):
    sentry_sdk.init(dsn=os.environ["ALERTS_APP_DSN"], environment="from-the-app", release="app-1")

clock = Clock(sentry=False if os.environ.get("ALERTS_APP_SENTRY_OFF") else None)


@clock.schedule("* * * * * *", name="fail")
def fail() -> None:
    raise RuntimeError("boom")


@clock.schedule(
    "0 3 * * *",
    name="nightly",
    tz="Europe/London",
    checkin_margin=5,
    max_runtime=timedelta(hours=2),
    failure_issue_threshold=2,
)
def nightly() -> None: ...


@clock.schedule(every="1h", name="hourly_quiet", monitor=False)
def hourly_quiet() -> None: ...


@clock.schedule(every="15m", name="quarter", monitor="billing-quarter-hour")
def quarter() -> None: ...

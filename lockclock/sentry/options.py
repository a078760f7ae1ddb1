"""The per-schedule options that concern Sentry, validated at decoration so mistakes fail
at import, not at 3 a.m. Pure: importable without the SDK (it could be an extra)."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import timedelta

from ..errors import ScheduleError

SLUG_MAX = 50  # Sentry's limit for a monitor slug
SLUG_OK = re.compile(r"^(?![0-9]+$)[a-z0-9_-]{1,50}$")
# Sentry's own default: a run still in progress after 30 minutes is marked timed out.
DEFAULT_MAX_RUNTIME_MIN = 30
# Below a minute, lateness is a failover or loop lag that the lease already bounds;
# past it, a person waiting for the job's output starts to notice.
DEFAULT_LATE_AFTER_S = 60.0


@dataclass(frozen=True, kw_only=True)
class AlertOptions:
    """What a schedule reports to Sentry."""

    monitor: bool | str | None = None  # None: a monitor whenever Sentry can express it
    checkin_margin_min: int | None = None  # None: from the lease (default_margin_min)
    max_runtime_s: float = DEFAULT_MAX_RUNTIME_MIN * 60.0
    late_after_s: float | None = DEFAULT_LATE_AFTER_S  # None: no late-start warnings
    failure_issue_threshold: int = 1
    recovery_threshold: int = 1

    def __post_init__(self) -> None:
        m = self.monitor
        if isinstance(m, str) and not SLUG_OK.match(m):
            raise ScheduleError(
                f"invalid monitor={m!r}: a Sentry monitor slug is 1-50 of a-z 0-9 _ - "
                "(not only digits), or pass True/False"
            )
        if m is not None and not isinstance(m, (bool, str)):
            raise ScheduleError(f"invalid monitor={m!r}: use True, False or a slug string")
        for label, value in (
            ("failure_issue_threshold", self.failure_issue_threshold),
            ("recovery_threshold", self.recovery_threshold),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 720:
                raise ScheduleError(
                    f"invalid {label}={value!r}: use an integer 1-720 (consecutive check-ins)"
                )


def _minutes(label: str, value: object, what: str) -> float:
    """Whole minutes (Sentry's unit) or a timedelta, as seconds."""
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, int) and not isinstance(value, bool):
        seconds = value * 60.0
    else:
        seconds = float("nan")
    if not seconds > 0:
        raise ScheduleError(
            f"invalid {label}={value!r}: use whole minutes >= 1 or a positive timedelta ({what})"
        )
    return seconds


def alert_options(
    *,
    monitor: bool | str | None,
    checkin_margin: int | timedelta | None,
    max_runtime: int | timedelta,
    alert_late_after: float | timedelta | None,
    failure_issue_threshold: int,
    recovery_threshold: int,
) -> AlertOptions:
    """Validate the keyword options of `@schedule` that concern Sentry."""
    margin = None
    if checkin_margin is not None:
        margin_s = _minutes("checkin_margin", checkin_margin, "how late a check-in may be")
        margin = max(1, math.ceil(margin_s / 60))
    runtime_s = _minutes("max_runtime", max_runtime, "how long a run may take")
    late: float | None = None
    if alert_late_after is not None:
        if isinstance(alert_late_after, timedelta):
            late = alert_late_after.total_seconds()
        elif isinstance(alert_late_after, (int, float)) and not isinstance(alert_late_after, bool):
            late = float(alert_late_after)
        if late is None or not late > 0:
            raise ScheduleError(
                f"invalid alert_late_after={alert_late_after!r}: use seconds > 0, a timedelta, "
                "or None for no late-start warnings"
            )
    return AlertOptions(
        monitor=monitor,
        checkin_margin_min=margin,
        max_runtime_s=runtime_s,
        late_after_s=late,
        failure_issue_threshold=failure_issue_threshold,
        recovery_threshold=recovery_threshold,
    )

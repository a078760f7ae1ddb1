"""Sentry Crons check-ins: `in_progress` as a run starts, then `ok` or `error` with its
duration, each carrying the monitor's config so Sentry creates and updates the monitor."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Literal, cast

from sentry_sdk.crons import capture_checkin

from .monitors import Monitor

if TYPE_CHECKING:
    from sentry_sdk._types import MonitorConfig

CheckinStatus = Literal["in_progress", "ok", "error"]


def checkin_id_for(namespace: str, schedule: str, tick_ms: int) -> str:
    """One id per run, the same on every attempt and in every process: a run that moves
    to another worker, or ends lost, closes the check-in its first attempt opened."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"lockclock:{namespace}:{schedule}:{tick_ms}").hex


def send_checkin(
    monitor: Monitor, checkin_id: str, status: CheckinStatus, duration_s: float | None
) -> None:
    capture_checkin(
        monitor_slug=monitor.slug,
        check_in_id=checkin_id,
        status=status,
        duration=duration_s,
        monitor_config=cast("MonitorConfig", monitor.config),
    )

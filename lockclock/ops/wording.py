"""How operators' state reads in a terminal and in the API."""

from __future__ import annotations

from ..coordination.records import Pause
from ..logs import iso_ms


def pause_text(pause: Pause) -> str:
    until = f" until {iso_ms(pause.until_ms)}" if pause.until_ms else ""
    who = "all schedules " if pause.target == "*" else ""
    return f"{who}paused since {iso_ms(pause.since_ms)}{until} by {pause.actor}: {pause.reason}"

"""`every=` intervals: a fixed grid from the Unix epoch, or whole days at a wall time.

Anchoring at the epoch (not at start-up) means a restart never shifts the ticks.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from ..errors import ScheduleError
from .cron import WallCron, ceil_s, check_limit, floor_s, walk_back
from .zones import DAY_S, HOUR_S, ONE_S, check_zone

UNITS_HINT = "use a whole number of seconds >= 1 such as '90s', '15m', '1h', '1d' or '2h30m'"
_INTERVAL_RE = re.compile(
    r"(?:(?P<d>\d+)\s*d)?\s*(?:(?P<h>\d+)\s*h)?\s*(?:(?P<m>\d+)\s*m)?\s*(?:(?P<s>\d+)\s*s)?",
    re.IGNORECASE,
)
_AT_HOURLY_RE = re.compile(r":(\d{1,2})(?::(\d{1,2}))?")
_AT_DAILY_RE = re.compile(r"(\d{1,2}):(\d{1,2})(?::(\d{1,2}))?")


def parse_interval(every: str | int | float | timedelta) -> int:
    """Interval in whole seconds; accepts '90s', '15m', '1h', '1d', '2h30m', seconds, timedelta."""
    if isinstance(every, bool):
        raise ScheduleError(f"invalid interval {every!r}: {UNITS_HINT}")
    if isinstance(every, timedelta):
        seconds: float = every / ONE_S
    elif isinstance(every, (int, float)):
        seconds = every
    elif isinstance(every, str):
        text = every.strip()
        match = _INTERVAL_RE.fullmatch(text)
        if text.isdigit():
            seconds = int(text)
        elif text and match:
            parts = {k: int(v) for k, v in match.groupdict().items() if v}
            seconds = (
                parts.get("d", 0) * DAY_S
                + parts.get("h", 0) * HOUR_S
                + parts.get("m", 0) * 60
                + parts.get("s", 0)
            )
        else:
            raise ScheduleError(f"invalid interval {every!r}: {UNITS_HINT} (units: s, m, h, d)")
    else:
        raise ScheduleError(f"invalid interval of type {type(every).__name__}: {UNITS_HINT}")
    if not math.isfinite(seconds) or seconds < 1 or seconds != int(seconds):
        raise ScheduleError(f"invalid interval {every!r}: {UNITS_HINT}")
    return int(seconds)


def _format_interval(seconds: int) -> str:
    parts = []
    for unit, size in (("d", DAY_S), ("h", HOUR_S), ("m", 60), ("s", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts) or "0s"


def _parse_at_hourly(at: str, every_s: int) -> int:
    """':MM' or ':MM:SS' -> seconds past the hour."""
    match = _AT_HOURLY_RE.fullmatch(at.strip())
    if match is None:
        if _AT_DAILY_RE.fullmatch(at.strip()):
            raise ScheduleError(
                f"at={at!r} is a time of day, which needs every to be whole days such as '1d' "
                f"(got {_format_interval(every_s)}); for shorter intervals give the minute "
                "past the hour as ':MM'"
            )
        raise ScheduleError(f"invalid at={at!r}: use ':MM' or ':MM:SS' (minute past the hour)")
    minute, second = int(match[1]), int(match[2] or 0)
    if minute > 59 or second > 59:
        raise ScheduleError(f"invalid at={at!r}: minute and second must be 0-59")
    if every_s % HOUR_S:
        raise ScheduleError(
            f"at={at!r} needs every to be a whole number of hours (got "
            f"{_format_interval(every_s)}): use every='1h' or more, or drop at"
        )
    return minute * 60 + second


def _parse_at_daily(at: str) -> tuple[int, int, int]:
    """'HH:MM' or 'HH:MM:SS' -> (hour, minute, second)."""
    match = _AT_DAILY_RE.fullmatch(at.strip())
    if match is None:
        if _AT_HOURLY_RE.fullmatch(at.strip()):
            raise ScheduleError(
                f"at={at!r} is a minute past the hour, but every is whole days: "
                "give a time of day as 'HH:MM'"
            )
        raise ScheduleError(f"invalid at={at!r}: use 'HH:MM' or 'HH:MM:SS' (local time of day)")
    hour, minute, second = int(match[1]), int(match[2]), int(match[3] or 0)
    if hour > 23 or minute > 59 or second > 59:
        raise ScheduleError(
            f"invalid at={at!r}: hour must be 0-23, minute and second 0-59 (local time of day)"
        )
    return hour, minute, second


@dataclass(frozen=True, kw_only=True)
class IntervalTrigger:
    """Every N seconds on a grid anchored at the Unix epoch, or every N days at a wall time.

    Anchoring at the epoch (not at start-up) means a restart never shifts the ticks.
    """

    every_s: int
    at: str | None
    tz: ZoneInfo
    _at_s: int = field(init=False, repr=False, compare=False, default=0)
    _engine: WallCron | None = field(init=False, repr=False, compare=False, default=None)
    _daily_at: tuple[int, int, int] | None = field(
        init=False, repr=False, compare=False, default=None
    )

    def __post_init__(self) -> None:
        check_zone(self.tz)
        every_s = self.every_s
        if isinstance(every_s, bool) or not isinstance(every_s, int) or every_s < 1:
            raise ScheduleError(f"invalid interval {every_s!r}: {UNITS_HINT}")
        if every_s < DAY_S:
            if self.at is not None:
                at_s = _parse_at_hourly(self.at, every_s)
                minute, second = divmod(at_s, 60)
                at = f":{minute:02d}" + (f":{second:02d}" if second else "")
                object.__setattr__(self, "at", at)
                object.__setattr__(self, "_at_s", at_s)
            return
        if every_s % DAY_S:
            raise ScheduleError(
                f"interval {_format_interval(every_s)} is longer than a day but not whole days: "
                "use whole days such as '1d' or '2d', or a cron expression"
            )
        hour, minute, second = _parse_at_daily(self.at if self.at is not None else "00:00")
        at = f"{hour:02d}:{minute:02d}" + (f":{second:02d}" if second else "")
        # The fixed-hour DST rule comes for free from the cron engine.
        expr = (f"{second} " if second else "") + f"{minute} {hour} * * *"
        engine = WallCron(expr, self.tz, "", fixed_hour=True, every_days=every_s // DAY_S)
        object.__setattr__(self, "at", at)
        object.__setattr__(self, "_engine", engine)
        object.__setattr__(self, "_daily_at", (hour, minute, second))

    def _phase(self, t: int) -> int:
        """Grid offset from the epoch; `at` is measured in the zone's standard time so that
        ':15' is local :15 even at +05:30, and DST never moves the grid."""
        if self.at is None:
            return 0
        moment = datetime.fromtimestamp(t, self.tz)
        utc_off, dst = moment.utcoffset(), moment.dst()
        assert utc_off is not None
        standard = int((utc_off - (dst or timedelta(0))).total_seconds())
        return (self._at_s - standard) % self.every_s

    def next_after(self, t_ms: int) -> int:
        t = floor_s(t_ms)
        if self._engine is not None:
            return self._engine.next_after(t) * 1000
        phase = self._phase(t)
        return (phase + ((t - phase) // self.every_s + 1) * self.every_s) * 1000

    def prev_before(self, t_ms: int) -> int:
        """Largest tick strictly < t_ms."""
        t = ceil_s(t_ms)
        if self._engine is not None:
            return self._engine.prev_before(t) * 1000
        phase = self._phase(t)
        return (phase + ((t - phase - 1) // self.every_s) * self.every_s) * 1000

    def ticks_between(self, after_ms: int, until_ms: int, *, limit: int) -> tuple[list[int], bool]:
        check_limit(limit)
        after_s, until_s = floor_s(after_ms), floor_s(until_ms)
        if self._engine is not None:
            return walk_back(self._engine.prev_before, after_s, until_s, limit)
        if until_s <= after_s:
            return [], False
        # Plain arithmetic on the grid, using one phase for the whole range.
        every, phase = self.every_s, self._phase(until_s)
        first = phase + ((after_s - phase) // every + 1) * every
        last = phase + ((until_s - phase) // every) * every
        if first > last:
            return [], False
        truncated = (last - first) // every + 1 > limit
        if truncated:
            first = last - (limit - 1) * every
        return [s * 1000 for s in range(first, last + 1, every)], truncated

    def describe(self) -> str:
        text = f"every {_format_interval(self.every_s)}"
        return f"{text} at {self.at}" if self.at is not None else text

    @property
    def nominal_period_s(self) -> float:
        return float(self.every_s)

    @property
    def daily_at(self) -> tuple[int, int, int] | None:
        """(hour, minute, second) of a whole-day interval, else None."""
        return self._daily_at

"""Time zones and the DST rule: which UTC instants a local wall time runs at.

A tick is identified by its UTC instant, never by local wall time, so every clock
process agrees on it whatever its own TZ. The rule, like Vixie cron: a schedule
with a fixed hour runs a wall time skipped by spring-forward at the jump, and one
repeated by fall-back only at its first occurrence; a schedule with `*` or a step
in the hour keeps real elapsed spacing (skipped times do not run, repeated ones
run twice).
"""

from __future__ import annotations

import logging
import math
import os
import zoneinfo
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from ..errors import ScheduleError

log = logging.getLogger("lockclock.schedule")

HOUR_S = 3_600
DAY_S = 86_400
# Offsets are sampled at this step: real zones never change offset twice within 3 h.
_OFFSET_STEP_S = 3 * HOUR_S
NAIVE_EPOCH = datetime(1970, 1, 1)
ONE_S = timedelta(seconds=1)


def resolve_zone(tz: str | ZoneInfo | None) -> ZoneInfo:
    """Turn a zone name into a ZoneInfo; None means the process TZ, falling back to UTC."""
    if isinstance(tz, ZoneInfo):
        return tz
    if tz is None:
        return _zone_from_env()
    if not isinstance(tz, str):
        raise ScheduleError(
            f"time zone must be an IANA name or a ZoneInfo, got {type(tz).__name__}: "
            "use an IANA name such as 'Europe/London'"
        )
    name = tz.strip()
    try:
        return ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        hint = _zone_hint(name)
        raise ScheduleError(
            f"unknown time zone {tz!r}: use an IANA name such as 'Europe/London'{hint}"
        ) from None


def _zone_from_env() -> ZoneInfo:
    """Read TZ the way the C library does for the common forms (':UTC', file paths)."""
    raw = os.environ.get("TZ", "").strip()
    name = raw.removeprefix(":")
    if "/zoneinfo/" in name:
        name = name.split("/zoneinfo/", 1)[1]
    if name:
        try:
            return ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
            log.warning("TZ=%r is not an IANA time zone name; using UTC", raw)
    return ZoneInfo("UTC")


def _zone_hint(name: str) -> str:
    """Suggest the right spelling for case mistakes ('europe/london'); only on the error path."""
    lowered = name.lower()
    for candidate in sorted(zoneinfo.available_timezones()):
        if candidate.lower() == lowered:
            return f" (did you mean {candidate!r}?)"
    return ""


def check_zone(tz: ZoneInfo) -> None:
    if not isinstance(tz, ZoneInfo):
        raise ScheduleError(f"tz must be a ZoneInfo, got {tz!r}: pass resolve_zone(name)")


def zone_name(tz: ZoneInfo) -> str:
    return tz.key if tz.key is not None else str(tz)


def offset_s(t: int, tz: ZoneInfo) -> int:
    """UTC offset in seconds at instant t (epoch seconds)."""
    off = datetime.fromtimestamp(t, tz).utcoffset()
    assert off is not None
    return int(off.total_seconds())


def first_with_offset(before: int, after: int, off: int, tz: ZoneInfo) -> int:
    """The first instant in (before, after] whose UTC offset is `off`, by bisection;
    `after` must have it and `before` must not."""
    while after - before > 1:
        mid = (before + after) // 2
        if offset_s(mid, tz) == off:
            after = mid
        else:
            before = mid
    return after


def _segments(lo: int, hi: int, tz: ZoneInfo) -> list[tuple[int, int]]:
    """Pieces of constant UTC offset covering [lo - 1, hi] as (start, offset), ascending.

    Offsets are sampled every _OFFSET_STEP_S and each change is located to the second by
    bisection, so the common no-transition case costs a handful of utcoffset calls.
    """
    first = lo - 1
    prev_t, prev_off = first, offset_s(first, tz)
    segments = [(first, prev_off)]
    for t in [*range(first + _OFFSET_STEP_S, hi, _OFFSET_STEP_S), hi]:
        off = offset_s(t, tz)
        if off != prev_off:
            segments.append((first_with_offset(prev_t, t, off, tz), off))
        prev_t, prev_off = t, off
    return segments


def wall_bounds(lo: int, hi: int, tz: ZoneInfo) -> tuple[int, int]:
    """Smallest and largest wall time (naive seconds) of any tick in [lo, hi], counting the
    wall times a spring-forward skips (fixed-hour crons run those at the jump)."""
    segments = _segments(lo, hi, tz)
    low, high = math.inf, -math.inf
    for i, (start, off) in enumerate(segments):
        end = segments[i + 1][0] - 1 if i + 1 < len(segments) else hi
        if end < lo:
            continue
        low = min(low, max(start, lo) + off)
        high = max(high, end + off)
        if i and start >= lo:  # wall times skipped at this jump map to `start`
            low = min(low, start + segments[i - 1][1])
            high = max(high, start + off - 1)
    return int(low), int(high)


def wall_s(w: datetime) -> int:
    """Naive wall time as seconds since the naive epoch (a plain number to compare with)."""
    return (w - NAIVE_EPOCH) // ONE_S


def instants(w: datetime, tz: ZoneInfo, fixed_hour: bool) -> tuple[int, ...]:
    """UTC instants (epoch s) at which local wall time w runs, by the DST rule in the docstring."""
    first = int(w.replace(tzinfo=tz, fold=0).timestamp())
    second = int(w.replace(tzinfo=tz, fold=1).timestamp())
    if first == second:
        return (first,)
    lo, hi = sorted((first, second))
    if wall(lo, tz) == w and wall(hi, tz) == w:  # repeated by a fall-back
        return (lo,) if fixed_hour else (lo, hi)
    if not fixed_hour:  # skipped by a spring-forward
        return ()
    # The jump is the first instant with the post-transition offset; lo is before it, hi after.
    return (first_with_offset(lo, hi, offset_s(hi, tz), tz),)


def wall(t: int, tz: ZoneInfo) -> datetime:
    return datetime.fromtimestamp(t, tz).replace(tzinfo=None)

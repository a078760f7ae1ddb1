"""Schedules: when a job is due, as UTC epoch-millisecond ticks.

A tick is identified by its UTC instant, never by local wall time, so every clock process
agrees on it whatever its own TZ and however often it restarts.

Cron expressions are matched on *naive local wall time* with croniter (which is exact there:
no zone is involved), and each matching wall time is then mapped to UTC by our own DST rule.
We do not iterate croniter with aware datetimes because it misbehaves around transitions.
The rule, like Vixie cron:

* a cron whose hour field names fixed hours (``30 2 * * *``) runs once per local day: a wall
  time skipped by spring-forward runs at the jump, one repeated by fall-back runs only at its
  first occurrence;
* a cron whose hour field has ``*`` or a step keeps real elapsed spacing: skipped wall times do
  not run, repeated ones run twice.

Because the mapping is not monotonic around a fall-back (01:30 EDT is before 01:00 EST although
its wall time is later), a search starts at the smallest wall time of any instant after the query
and stops only once no later wall time can map to an earlier instant; both bounds come from the
zone's exact transitions near the query (see ``_wall_bounds``), so away from transitions a search
costs one or two croniter steps.
"""

from __future__ import annotations

import inspect
import itertools
import json
import logging
import math
import os
import re
import threading
import zoneinfo
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from croniter import CroniterBadDateError, CroniterError, croniter

from lockclock.errors import ScheduleError

__all__ = [
    "CATCHUP_POLICIES",
    "CronTrigger",
    "IntervalTrigger",
    "Schedule",
    "Trigger",
    "make_schedule",
    "parse_interval",
    "resolve_zone",
]

log = logging.getLogger(__name__)

CATCHUP_POLICIES = ("latest", "skip", "all")

_CRON_SHAPE = "expected 5 fields 'min hour day month weekday' or 6 with seconds last"
_FIELD_NAMES = ("minute", "hour", "day of month", "month", "day of week", "second")
_FIELD_RANGES = ("0-59", "0-23", "1-31", "1-12 or JAN-DEC", "0-7 or SUN-SAT", "0-59")
_UNITS_HINT = "use a whole number of seconds >= 1 such as '90s', '15m', '1h', '1d' or '2h30m'"

_DAY_S = 86_400
_HOUR_S = 3_600
# UTC offsets span -12h..+14h, so no offset change exceeds 26 h; a wall time can only map to
# an instant out of order with its neighbours within that distance of a transition.
_OFFSET_WINDOW_S = 27 * _HOUR_S
# Offsets are sampled at this step: real zones never change offset twice within 3 h.
_OFFSET_STEP_S = 3 * _HOUR_S
_NAIVE_EPOCH = datetime(1970, 1, 1)
_ONE_S = timedelta(seconds=1)
# Fixed reference for nominal periods, so they do not depend on when a process started.
_PERIOD_REF = datetime(2001, 1, 1)
_MEMO_SIZE = 256

_INTERVAL_RE = re.compile(
    r"(?:(?P<d>\d+)\s*d)?\s*(?:(?P<h>\d+)\s*h)?\s*(?:(?P<m>\d+)\s*m)?\s*(?:(?P<s>\d+)\s*s)?",
    re.IGNORECASE,
)
_AT_HOURLY_RE = re.compile(r":(\d{1,2})(?::(\d{1,2}))?")
_AT_DAILY_RE = re.compile(r"(\d{1,2}):(\d{1,2})(?::(\d{1,2}))?")


class Trigger(Protocol):
    """What the scheduler needs from a trigger; ticks are UTC epoch milliseconds."""

    def next_after(self, t_ms: int) -> int: ...

    def describe(self) -> str: ...

    @property
    def nominal_period_s(self) -> float: ...

    @property
    def sentry_schedule(self) -> dict[str, Any] | None: ...


# --------------------------------------------------------------------------- zone helpers


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


def _check_zone(tz: ZoneInfo) -> None:
    if not isinstance(tz, ZoneInfo):
        raise ScheduleError(f"tz must be a ZoneInfo, got {tz!r}: pass resolve_zone(name)")


def _zone_name(tz: ZoneInfo) -> str:
    return tz.key if tz.key is not None else str(tz)


def _offset_s(t: int, tz: ZoneInfo) -> int:
    """UTC offset in seconds at instant t (epoch seconds)."""
    off = datetime.fromtimestamp(t, tz).utcoffset()
    assert off is not None
    return int(off.total_seconds())


def _segments(lo: int, hi: int, tz: ZoneInfo) -> list[tuple[int, int]]:
    """Pieces of constant UTC offset covering [lo - 1, hi] as (start, offset), ascending.

    Offsets are sampled every _OFFSET_STEP_S and each change is located to the second by
    bisection, so the common no-transition case costs a handful of utcoffset calls.
    """
    first = lo - 1
    prev_t, prev_off = first, _offset_s(first, tz)
    segments = [(first, prev_off)]
    for t in [*range(first + _OFFSET_STEP_S, hi, _OFFSET_STEP_S), hi]:
        off = _offset_s(t, tz)
        if off != prev_off:
            before, after = prev_t, t
            while after - before > 1:
                mid = (before + after) // 2
                if _offset_s(mid, tz) == off:
                    after = mid
                else:
                    before = mid
            segments.append((after, off))
        prev_t, prev_off = t, off
    return segments


def _wall_bounds(lo: int, hi: int, tz: ZoneInfo) -> tuple[int, int]:
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


def _wall_s(w: datetime) -> int:
    """Naive wall time as seconds since the naive epoch (a plain number to compare with)."""
    return (w - _NAIVE_EPOCH) // _ONE_S


def _instants(w: datetime, tz: ZoneInfo, fixed_hour: bool) -> tuple[int, ...]:
    """UTC instants (epoch s) at which local wall time w runs, by the DST rule in the docstring."""
    first = int(w.replace(tzinfo=tz, fold=0).timestamp())
    second = int(w.replace(tzinfo=tz, fold=1).timestamp())
    if first == second:
        return (first,)
    lo, hi = sorted((first, second))
    if _wall(lo, tz) == w and _wall(hi, tz) == w:  # repeated by a fall-back
        return (lo,) if fixed_hour else (lo, hi)
    if not fixed_hour:  # skipped by a spring-forward
        return ()
    # The jump is the first instant with the post-transition offset; lo is before it, hi after.
    after = _offset_s(hi, tz)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if _offset_s(mid, tz) == after:
            hi = mid
        else:
            lo = mid
    return (hi,)


def _wall(t: int, tz: ZoneInfo) -> datetime:
    return datetime.fromtimestamp(t, tz).replace(tzinfo=None)


# --------------------------------------------------------------------------- cron engine


class _WallCron:
    """Cron matching on local wall time, mapped to UTC instants (epoch seconds).

    One croniter is built per trigger and repositioned with set_current (cheap) under a lock,
    since building one is the expensive part. Recent answers are memoised because the
    scheduler asks for next_after(last_tick) over and over.
    """

    def __init__(
        self, expr: str, tz: ZoneInfo, hash_id: str, *, fixed_hour: bool, every_days: int = 1
    ) -> None:
        self._init_args = (expr, tz, hash_id)
        self._tz = tz
        self._fixed_hour = fixed_hour
        self._every_days = every_days
        self._iter = croniter(expr, _PERIOD_REF, hash_id=hash_id)
        self._lock = threading.Lock()
        self._next_memo: dict[int, int] = {}
        self._prev_memo: dict[int, int] = {}

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle/copy by rebuilding: the croniter state and the lock are caches."""
        return (
            _rebuild_wall_cron,
            (*self._init_args, self._fixed_hour, self._every_days),
        )

    def next_after(self, t: int) -> int:
        """Smallest tick > t."""
        with self._lock:
            hit = self._next_memo.get(t)
            if hit is None:
                hit = self._search_next(t)
                _remember(self._next_memo, t, hit)
            return hit

    def prev_before(self, t: int) -> int:
        """Largest tick < t."""
        with self._lock:
            hit = self._prev_memo.get(t)
            if hit is None:
                hit = self._search_prev(t)
                _remember(self._prev_memo, t, hit)
            return hit

    def _search_next(self, t: int) -> int:
        tz, it, n = self._tz, self._iter, self._every_days
        # Around a fall-back a wall time before wall(t) can still map after t: start from the
        # smallest wall time of any instant after t.
        start, _ = _wall_bounds(t + 1, t + _OFFSET_WINDOW_S, tz)
        it.set_current(_NAIVE_EPOCH + timedelta(seconds=start - 1), force=True)
        best: int | None = None
        stop_at = 0
        while True:
            w: datetime = it.get_next(datetime)
            if n > 1 and w.toordinal() % n:
                ordinal = w.toordinal() + (-w.toordinal() % n)
                it.set_current(datetime.fromordinal(ordinal) - _ONE_S, force=True)
                continue
            for u in _instants(w, tz, self._fixed_hour):
                if u > t and (best is None or u < best):
                    best = u
                    # Largest wall time of any instant in (t, best): past it, nothing beats best.
                    # Instants over a day before best have walls before best's wall anyway.
                    lo = max(t + 1, best - _OFFSET_WINDOW_S)
                    stop_at = _wall_bounds(lo, best - 1, tz)[1] if lo < best else -(2**62)
            if best is not None and _wall_s(w) >= stop_at:
                return best

    def _search_prev(self, t: int) -> int:
        tz, it, n = self._tz, self._iter, self._every_days
        # Mirror image of _search_next.
        _, start = _wall_bounds(t - _OFFSET_WINDOW_S, t - 1, tz)
        it.set_current(_NAIVE_EPOCH + timedelta(seconds=start + 1), force=True)
        best: int | None = None
        stop_at = 0
        while True:
            w: datetime = it.get_prev(datetime)
            if n > 1 and w.toordinal() % n:
                ordinal = w.toordinal() - w.toordinal() % n
                it.set_current(datetime.fromordinal(ordinal + 1), force=True)
                continue
            for u in _instants(w, tz, self._fixed_hour):
                if u < t and (best is None or u > best):
                    best = u
                    hi = min(t - 1, best + _OFFSET_WINDOW_S)
                    stop_at = _wall_bounds(best + 1, hi, tz)[0] if best < hi else 2**62
            if best is not None and _wall_s(w) <= stop_at:
                return best


def _rebuild_wall_cron(
    expr: str, tz: ZoneInfo, hash_id: str, fixed_hour: bool, every_days: int
) -> _WallCron:
    return _WallCron(expr, tz, hash_id, fixed_hour=fixed_hour, every_days=every_days)


def _remember(memo: dict[int, int], key: int, value: int) -> None:
    if len(memo) >= _MEMO_SIZE:
        memo.clear()
    memo[key] = value


def _walk_back(
    prev_before: Callable[[int], int], after_s: int, until_s: int, limit: int
) -> tuple[list[int], bool]:
    """Ticks in (after_s, until_s] as epoch ms, found by walking back from until_s: the cost
    is O(limit) however long the range, which is what catch-up after a long outage needs."""
    found: list[int] = []
    cursor = until_s + 1
    while len(found) <= limit:
        tick = prev_before(cursor)
        if tick <= after_s:
            break
        found.append(tick)
        cursor = tick
    truncated = len(found) > limit
    ticks = found[:limit]
    ticks.reverse()
    return [s * 1000 for s in ticks], truncated


def _check_limit(limit: int) -> None:
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ScheduleError(f"limit must be an integer >= 1, got {limit!r}")


def _floor_s(t_ms: int) -> int:
    """Epoch ms to the whole second at or before it (ticks are whole seconds)."""
    return int(t_ms // 1000)


def _ceil_s(t_ms: int) -> int:
    return -int(-t_ms // 1000)


# --------------------------------------------------------------------------- cron trigger


def _is_fixed_hour(hour_field: str) -> bool:
    """Digits, lists, ranges and H name fixed hours; '*', '?' and steps do not."""
    return not any(c in hour_field for c in "*/?")


def _is_hashed(cron_field: str) -> bool:
    """Jenkins-style H ('H', 'H(0-29)', 'H/15'); no month or weekday name starts with H."""
    return any(part.upper().startswith("H") for part in cron_field.split(","))


def _check_cron(expr: str, hash_id: str) -> list[str]:
    """Return the fields of a valid expression or raise a ScheduleError saying what to fix."""
    if not isinstance(expr, str):
        raise ScheduleError(f"cron expression must be a string, got {type(expr).__name__}")
    fields = expr.split()
    if expr.strip().startswith("@"):
        raise ScheduleError(
            f"cron alias {expr.strip()!r} is not supported: write the fields out, "
            f"e.g. '0 0 * * *' for @daily; {_CRON_SHAPE}"
        )
    if len(fields) not in (5, 6):
        raise ScheduleError(
            f"invalid cron expression {expr!r} (has {len(fields)} fields); {_CRON_SHAPE}"
        )
    for i, value in enumerate(fields):
        if any(p.upper() == "R" or p.upper().startswith(("R(", "R/")) for p in value.split(",")):
            raise ScheduleError(
                f"invalid cron expression {expr!r} ({_FIELD_NAMES[i]} uses R, which is random "
                "per process so clock processes would disagree): use H for a stable "
                "per-schedule value"
            )
    if not hash_id and any(_is_hashed(f) for f in fields):
        raise ScheduleError(
            f"cron expression {expr!r} uses H but has no hash_id: pass the schedule name"
        )
    try:
        croniter(" ".join(fields), _PERIOD_REF, hash_id=hash_id)
    except (CroniterError, ValueError, KeyError, IndexError, TypeError) as exc:
        detail = _field_problem(fields, hash_id) or str(exc)
        raise ScheduleError(f"invalid cron expression {expr!r} ({detail}); {_CRON_SHAPE}") from None
    return fields


def _field_problem(fields: list[str], hash_id: str) -> str | None:
    """Name the first field that is invalid on its own, for a message a user can act on."""
    for i, value in enumerate(fields):
        probe = ["*"] * len(fields)
        probe[i] = value
        try:
            croniter(" ".join(probe), _PERIOD_REF, hash_id=hash_id)
        except (CroniterError, ValueError, KeyError, IndexError, TypeError):
            return f"{_FIELD_NAMES[i]} must be {_FIELD_RANGES[i]}, got {value!r}"
    return None


def _nominal_cron_period(expr: str, hash_id: str) -> float:
    """Smallest of the first few gaps from a fixed reference, in naive time (no DST noise)."""
    it = croniter(expr, _PERIOD_REF, hash_id=hash_id)
    try:
        times: list[datetime] = [it.get_next(datetime) for _ in range(5)]
    except CroniterBadDateError:
        raise ScheduleError(
            f"cron expression {expr!r} never matches a real date (e.g. 30 February): "
            "check the day and month fields"
        ) from None
    return float(min((b - a).total_seconds() for a, b in itertools.pairwise(times)))


@dataclass(frozen=True, kw_only=True)
class CronTrigger:
    """A cron expression (5 fields, or 6 with seconds last) evaluated in a time zone.

    hash_id seeds Jenkins-style H fields, so each schedule name gets its own stable minute.
    """

    expr: str
    tz: ZoneInfo
    hash_id: str
    _fields: tuple[str, ...] = field(init=False, repr=False, compare=False, default=())
    _engine: _WallCron | None = field(init=False, repr=False, compare=False, default=None)
    _period_s: float = field(init=False, repr=False, compare=False, default=0.0)

    def __post_init__(self) -> None:
        _check_zone(self.tz)
        fields = _check_cron(self.expr, self.hash_id)
        normalized = " ".join(fields)
        period = _nominal_cron_period(normalized, self.hash_id)
        engine = _WallCron(normalized, self.tz, self.hash_id, fixed_hour=_is_fixed_hour(fields[1]))
        object.__setattr__(self, "expr", normalized)
        object.__setattr__(self, "_fields", tuple(fields))
        object.__setattr__(self, "_engine", engine)
        object.__setattr__(self, "_period_s", period)

    @property
    def _wall_cron(self) -> _WallCron:
        assert self._engine is not None
        return self._engine

    def next_after(self, t_ms: int) -> int:
        return self._wall_cron.next_after(_floor_s(t_ms)) * 1000

    def prev_before(self, t_ms: int) -> int:
        """Largest tick strictly < t_ms (used to walk back from 'now' during catch-up)."""
        return self._wall_cron.prev_before(_ceil_s(t_ms)) * 1000

    def ticks_between(self, after_ms: int, until_ms: int, *, limit: int) -> tuple[list[int], bool]:
        _check_limit(limit)
        return _walk_back(
            self._wall_cron.prev_before, _floor_s(after_ms), _floor_s(until_ms), limit
        )

    def describe(self) -> str:
        return f"cron {self.expr!r}"

    @property
    def nominal_period_s(self) -> float:
        return self._period_s

    @property
    def sentry_schedule(self) -> dict[str, Any] | None:
        fields = list(self._fields)
        hashed = [_is_hashed(f) for f in fields]
        if any(hashed):
            # Sentry does not know H: send the values it resolved to for this schedule.
            expanded = croniter(self.expr, _PERIOD_REF, hash_id=self.hash_id).expanded
            fields = [
                ",".join(str(v) for v in expanded[i]) if hashed[i] else f
                for i, f in enumerate(fields)
            ]
        if len(fields) == 6:
            if fields[5] not in ("0", "00"):
                return None
            fields = fields[:5]
        return {"type": "crontab", "value": " ".join(fields)}


# --------------------------------------------------------------------------- interval trigger


def parse_interval(every: str | int | float | timedelta) -> int:
    """Interval in whole seconds; accepts '90s', '15m', '1h', '1d', '2h30m', seconds, timedelta."""
    if isinstance(every, bool):
        raise ScheduleError(f"invalid interval {every!r}: {_UNITS_HINT}")
    if isinstance(every, timedelta):
        seconds: float = every / _ONE_S
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
                parts.get("d", 0) * _DAY_S
                + parts.get("h", 0) * _HOUR_S
                + parts.get("m", 0) * 60
                + parts.get("s", 0)
            )
        else:
            raise ScheduleError(f"invalid interval {every!r}: {_UNITS_HINT} (units: s, m, h, d)")
    else:
        raise ScheduleError(f"invalid interval of type {type(every).__name__}: {_UNITS_HINT}")
    if not math.isfinite(seconds) or seconds < 1 or seconds != int(seconds):
        raise ScheduleError(f"invalid interval {every!r}: {_UNITS_HINT}")
    return int(seconds)


def _format_interval(seconds: int) -> str:
    parts = []
    for unit, size in (("d", _DAY_S), ("h", _HOUR_S), ("m", 60), ("s", 1)):
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
    if every_s % _HOUR_S:
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
    _engine: _WallCron | None = field(init=False, repr=False, compare=False, default=None)
    _daily_at: tuple[int, int, int] | None = field(
        init=False, repr=False, compare=False, default=None
    )

    def __post_init__(self) -> None:
        _check_zone(self.tz)
        every_s = self.every_s
        if isinstance(every_s, bool) or not isinstance(every_s, int) or every_s < 1:
            raise ScheduleError(f"invalid interval {every_s!r}: {_UNITS_HINT}")
        if every_s < _DAY_S:
            if self.at is not None:
                at_s = _parse_at_hourly(self.at, every_s)
                minute, second = divmod(at_s, 60)
                at = f":{minute:02d}" + (f":{second:02d}" if second else "")
                object.__setattr__(self, "at", at)
                object.__setattr__(self, "_at_s", at_s)
            return
        if every_s % _DAY_S:
            raise ScheduleError(
                f"interval {_format_interval(every_s)} is longer than a day but not whole days: "
                "use whole days such as '1d' or '2d', or a cron expression"
            )
        hour, minute, second = _parse_at_daily(self.at if self.at is not None else "00:00")
        at = f"{hour:02d}:{minute:02d}" + (f":{second:02d}" if second else "")
        # The fixed-hour DST rule comes for free from the cron engine.
        expr = f"{minute} {hour} * * *" + (f" {second}" if second else "")
        engine = _WallCron(expr, self.tz, "", fixed_hour=True, every_days=every_s // _DAY_S)
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
        t = _floor_s(t_ms)
        if self._engine is not None:
            return self._engine.next_after(t) * 1000
        phase = self._phase(t)
        return (phase + ((t - phase) // self.every_s + 1) * self.every_s) * 1000

    def prev_before(self, t_ms: int) -> int:
        """Largest tick strictly < t_ms."""
        t = _ceil_s(t_ms)
        if self._engine is not None:
            return self._engine.prev_before(t) * 1000
        phase = self._phase(t)
        return (phase + ((t - phase - 1) // self.every_s) * self.every_s) * 1000

    def ticks_between(self, after_ms: int, until_ms: int, *, limit: int) -> tuple[list[int], bool]:
        _check_limit(limit)
        after_s, until_s = _floor_s(after_ms), _floor_s(until_ms)
        if self._engine is not None:
            return _walk_back(self._engine.prev_before, after_s, until_s, limit)
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
    def sentry_schedule(self) -> dict[str, Any] | None:
        every = self.every_s
        if self._daily_at is not None:
            hour, minute, second = self._daily_at
            if every != _DAY_S or second:
                return None  # Sentry cannot say "every other day" or seconds
            return {"type": "crontab", "value": f"{minute} {hour} * * *"}
        if every % _HOUR_S == 0:
            return {"type": "interval", "value": every // _HOUR_S, "unit": "hour"}
        if every % 60 == 0:
            return {"type": "interval", "value": every // 60, "unit": "minute"}
        return None


# --------------------------------------------------------------------------- schedule


@dataclass(frozen=True, kw_only=True)
class Schedule:
    """A job, when it runs, and what to do about ticks missed while no clock was up."""

    name: str
    func: Callable[..., Any]
    trigger: CronTrigger | IntervalTrigger
    tz: ZoneInfo
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    catchup: str
    catchup_limit: int
    max_lateness_s: float
    enabled: bool
    is_async: bool

    def __post_init__(self) -> None:
        try:
            _check_name(self.name)
            self._validate()
        except ScheduleError as exc:
            raise ScheduleError(f"schedule {self.name!r}: {exc}") from None

    def _validate(self) -> None:
        if not callable(self.func):
            raise ScheduleError(f"func must be callable, got {type(self.func).__name__}")
        if self.trigger.tz != self.tz:
            raise ScheduleError(
                f"trigger zone {_zone_name(self.trigger.tz)} differs from schedule zone "
                f"{_zone_name(self.tz)}: build both with the same tz"
            )
        _check_json(self.args, self.kwargs)
        if self.catchup not in CATCHUP_POLICIES:
            raise ScheduleError(
                f"invalid catchup {self.catchup!r}: use one of {', '.join(CATCHUP_POLICIES)}"
            )
        limit = self.catchup_limit
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ScheduleError(
                f"invalid catchup_limit {limit!r}: use an integer >= 1 "
                "(how many missed ticks catchup='all' replays)"
            )
        lateness = self.max_lateness_s
        if (
            isinstance(lateness, bool)
            or not isinstance(lateness, (int, float))
            or math.isnan(lateness)
            or lateness <= 0
        ):
            raise ScheduleError(
                f"invalid max_lateness {lateness!r}: use a number of seconds > 0 "
                "or a positive timedelta"
            )

    def next_after(self, t_ms: int) -> int:
        """Smallest tick strictly after t_ms (UTC epoch ms)."""
        return self.trigger.next_after(t_ms)

    def ticks_between(self, after_ms: int, until_ms: int, *, limit: int) -> tuple[list[int], bool]:
        """Ticks in (after_ms, until_ms], ascending; if there are more than limit, the most
        recent limit of them and True. Interval grids use arithmetic; cron walks back from
        until_ms with a previous-tick search, so the cost is O(limit) however long the range."""
        return self.trigger.ticks_between(after_ms, until_ms, limit=limit)

    def describe(self) -> str:
        return f"{self.trigger.describe()} in {_zone_name(self.tz)}"


def _check_name(name: str) -> None:
    if not isinstance(name, str) or not name.strip() or not name.isprintable():
        raise ScheduleError(
            "invalid schedule name: use a non-empty single-line string such as 'app.nightly'"
        )


def _check_json(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """Arguments travel through Redis and logs as JSON, so refuse what JSON cannot carry."""
    bad_keys = [k for k in kwargs if not isinstance(k, str)]
    if bad_keys:
        raise ScheduleError(f"kwargs keys must be strings, got {bad_keys[0]!r}")
    for label, value in (("args", list(args)), ("kwargs", kwargs)):
        try:
            json.dumps(value, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise ScheduleError(
                f"{label} must be JSON-serialisable ({exc}): pass plain str/int/float/bool/"
                "None/list/dict values and look objects up inside the job"
            ) from None


def _default_name(func: Callable[..., Any]) -> str:
    module = getattr(func, "__module__", None) or type(func).__module__
    qualname = getattr(func, "__qualname__", None) or type(func).__qualname__
    return f"{module}.{qualname}"


def make_schedule(
    func: Callable[..., Any],
    cron: str | None = None,
    *,
    every: str | int | float | timedelta | None = None,
    at: str | None = None,
    tz: str | ZoneInfo | None = None,
    name: str | None = None,
    args: Sequence[Any] = (),
    kwargs: Mapping[str, Any] | None = None,
    catchup: str = "latest",
    catchup_limit: int = 10,
    max_lateness: float | timedelta | None = None,
    enabled: bool = True,
) -> Schedule:
    """Validate everything up front so a bad schedule fails at import, not at 3 a.m."""
    if not callable(func):
        raise ScheduleError(
            f"schedule {name!r}: func must be callable, got {type(func).__name__}"
            if name is not None
            else f"schedule target {func!r} is not callable: pass the function itself"
        )
    if name is None:
        name = _default_name(func)
    try:
        _check_name(name)
    except ScheduleError as exc:
        raise ScheduleError(f"{exc} (got {name!r})") from None
    try:
        zone = resolve_zone(tz)
        trigger = _make_trigger(cron, every, at, zone, name)
        if isinstance(args, (str, bytes)) or not isinstance(args, Sequence):
            raise ScheduleError(
                f"args must be a list or tuple, got {type(args).__name__}: e.g. args=[42]"
            )
        if kwargs is not None and not isinstance(kwargs, Mapping):
            raise ScheduleError(f"kwargs must be a dict, got {type(kwargs).__name__}")
        lateness = _lateness_s(max_lateness, trigger.nominal_period_s)
    except ScheduleError as exc:
        raise ScheduleError(f"schedule {name!r}: {exc}") from None
    return Schedule(
        name=name,
        func=func,
        trigger=trigger,
        tz=zone,
        args=tuple(args),
        kwargs=dict(kwargs or {}),
        catchup=catchup,
        catchup_limit=catchup_limit,
        max_lateness_s=lateness,
        enabled=bool(enabled),
        is_async=inspect.iscoroutinefunction(func),
    )


def _make_trigger(
    cron: str | None,
    every: str | int | float | timedelta | None,
    at: str | None,
    zone: ZoneInfo,
    name: str,
) -> CronTrigger | IntervalTrigger:
    if cron is not None and every is not None:
        raise ScheduleError("give either cron= or every=, not both")
    if cron is None and every is None:
        raise ScheduleError("give cron='*/5 * * * *' or every='5m' to say when it runs")
    if at is not None and not isinstance(at, str):
        raise ScheduleError(f"at must be a string such as ':15' or '04:30', got {at!r}")
    if cron is not None:
        if at is not None:
            raise ScheduleError("at= only applies to every=: put the time in the cron expression")
        return CronTrigger(expr=cron, tz=zone, hash_id=name)
    assert every is not None
    return IntervalTrigger(every_s=parse_interval(every), at=at, tz=zone)


def _lateness_s(max_lateness: float | timedelta | None, period_s: float) -> float:
    """Default: one period (a tick older than that is superseded anyway), at least a minute."""
    if max_lateness is None:
        return max(period_s, 60.0)
    if isinstance(max_lateness, timedelta):
        return max_lateness.total_seconds()
    if isinstance(max_lateness, bool) or not isinstance(max_lateness, (int, float)):
        raise ScheduleError(
            f"invalid max_lateness {max_lateness!r}: use seconds > 0 or a positive timedelta"
        )
    return float(max_lateness)

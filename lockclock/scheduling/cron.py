"""Cron expressions as UTC epoch-millisecond ticks.

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
zone's exact transitions near the query (see ``wall_bounds``), so away from transitions a search
costs one or two croniter steps.
"""

from __future__ import annotations

import functools
import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from croniter import CroniterBadDateError, CroniterError, croniter

from ..errors import ScheduleError
from .zones import HOUR_S, NAIVE_EPOCH, ONE_S, check_zone, instants, wall_bounds, wall_s

_CRON_SHAPE = (
    "expected 5 fields 'min hour day month weekday', or 6 with seconds first "
    "'sec min hour day month weekday'"
)
_FIELD_NAMES = ("minute", "hour", "day of month", "month", "day of week")
_FIELD_RANGES = ("0-59", "0-23", "1-31", "1-12 or JAN-DEC", "0-7 or SUN-SAT")
# croniter's `expanded` lists fields in this order whatever the expression's order:
# minute, hour, day, month, weekday, then seconds.
_EXPANDED_SECONDS = 5


def seconds_first(fields: list[str] | tuple[str, ...]) -> bool:
    """Six fields put seconds first, as Quartz, Spring, sidekiq-cron and node-cron do."""
    return len(fields) == 6


def new_croniter(expr: str, hash_id: str) -> croniter:
    """croniter reading six fields seconds first; the one place that builds one."""
    return croniter(
        expr, PERIOD_REF, hash_id=hash_id, second_at_beginning=seconds_first(expr.split())
    )


def field_names(count: int) -> tuple[str, ...]:
    return ("second", *_FIELD_NAMES) if count == 6 else _FIELD_NAMES


def _field_ranges(count: int) -> tuple[str, ...]:
    return ("0-59", *_FIELD_RANGES) if count == 6 else _FIELD_RANGES


# UTC offsets span -12h..+14h, so no offset change exceeds 26 h; a wall time can only map to
# an instant out of order with its neighbours within that distance of a transition.
_OFFSET_WINDOW_S = 27 * HOUR_S
# Fixed reference for nominal periods, so they do not depend on when a process started.
PERIOD_REF = datetime(2001, 1, 1)
_MEMO_SIZE = 256


class WallCron:
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
        self._iter = new_croniter(expr, hash_id)
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
        start, _ = wall_bounds(t + 1, t + _OFFSET_WINDOW_S, tz)
        it.set_current(NAIVE_EPOCH + timedelta(seconds=start - 1), force=True)
        best: int | None = None
        stop_at = 0
        while True:
            w: datetime = it.get_next(datetime)
            if n > 1 and w.toordinal() % n:
                ordinal = w.toordinal() + (-w.toordinal() % n)
                it.set_current(datetime.fromordinal(ordinal) - ONE_S, force=True)
                continue
            for u in instants(w, tz, self._fixed_hour):
                if u > t and (best is None or u < best):
                    best = u
                    # Largest wall time of any instant in (t, best): past it, nothing beats best.
                    # Instants over a day before best have walls before best's wall anyway.
                    lo = max(t + 1, best - _OFFSET_WINDOW_S)
                    stop_at = wall_bounds(lo, best - 1, tz)[1] if lo < best else -(2**62)
            if best is not None and wall_s(w) >= stop_at:
                return best

    def _search_prev(self, t: int) -> int:
        tz, it, n = self._tz, self._iter, self._every_days
        # Mirror image of _search_next.
        _, start = wall_bounds(t - _OFFSET_WINDOW_S, t - 1, tz)
        it.set_current(NAIVE_EPOCH + timedelta(seconds=start + 1), force=True)
        best: int | None = None
        stop_at = 0
        while True:
            w: datetime = it.get_prev(datetime)
            if n > 1 and w.toordinal() % n:
                ordinal = w.toordinal() - w.toordinal() % n
                it.set_current(datetime.fromordinal(ordinal + 1), force=True)
                continue
            for u in instants(w, tz, self._fixed_hour):
                if u < t and (best is None or u > best):
                    best = u
                    hi = min(t - 1, best + _OFFSET_WINDOW_S)
                    stop_at = wall_bounds(best + 1, hi, tz)[0] if best < hi else 2**62
            if best is not None and wall_s(w) <= stop_at:
                return best


def _rebuild_wall_cron(
    expr: str, tz: ZoneInfo, hash_id: str, fixed_hour: bool, every_days: int
) -> WallCron:
    return WallCron(expr, tz, hash_id, fixed_hour=fixed_hour, every_days=every_days)


def _remember(memo: dict[int, int], key: int, value: int) -> None:
    if len(memo) >= _MEMO_SIZE:
        memo.clear()
    memo[key] = value


def walk_back(
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


def check_limit(limit: int) -> None:
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ScheduleError(f"limit must be an integer >= 1, got {limit!r}")


def floor_s(t_ms: int) -> int:
    """Epoch ms to the whole second at or before it (ticks are whole seconds)."""
    return int(t_ms // 1000)


def ceil_s(t_ms: int) -> int:
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
                f"invalid cron expression {expr!r} ({field_names(len(fields))[i]} uses R, "
                "which is random "
                "per process so clock processes would disagree): use H for a stable "
                "per-schedule value"
            )
    if not hash_id and any(_is_hashed(f) for f in fields):
        raise ScheduleError(
            f"cron expression {expr!r} uses H but has no hash_id: pass the schedule name"
        )
    try:
        new_croniter(" ".join(fields), hash_id)
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
            new_croniter(" ".join(probe), hash_id)
        except (CroniterError, ValueError, KeyError, IndexError, TypeError):
            names, ranges = field_names(len(fields)), _field_ranges(len(fields))
            return f"{names[i]} must be {ranges[i]}, got {value!r}"
    return None


def _nominal_cron_period(expr: str, hash_id: str) -> float:
    """Smallest of the first few gaps from a fixed reference, in naive time (no DST noise)."""
    # only H fields depend on the name: an app with a thousand schedules of one sparse
    # expression (yearly takes croniter milliseconds) computes it once
    return _cron_period(expr, hash_id if "H" in expr.upper() else "")


@functools.lru_cache(maxsize=1024)
def _cron_period(expr: str, hash_id: str) -> float:
    it = new_croniter(expr, hash_id)
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
    """A cron expression (5 fields, or 6 with seconds first) evaluated in a time zone.

    hash_id seeds Jenkins-style H fields, so each schedule name gets its own stable minute.
    """

    expr: str
    tz: ZoneInfo
    hash_id: str
    _fields: tuple[str, ...] = field(init=False, repr=False, compare=False, default=())
    _engine: WallCron | None = field(init=False, repr=False, compare=False, default=None)
    _period_s: float = field(init=False, repr=False, compare=False, default=0.0)

    def __post_init__(self) -> None:
        check_zone(self.tz)
        fields = _check_cron(self.expr, self.hash_id)
        normalized = " ".join(fields)
        period = _nominal_cron_period(normalized, self.hash_id)
        hour = fields[2] if seconds_first(fields) else fields[1]
        engine = WallCron(normalized, self.tz, self.hash_id, fixed_hour=_is_fixed_hour(hour))
        object.__setattr__(self, "expr", normalized)
        object.__setattr__(self, "_fields", tuple(fields))
        object.__setattr__(self, "_engine", engine)
        object.__setattr__(self, "_period_s", period)

    @property
    def _wall_cron(self) -> WallCron:
        assert self._engine is not None
        return self._engine

    def next_after(self, t_ms: int) -> int:
        return self._wall_cron.next_after(floor_s(t_ms)) * 1000

    def prev_before(self, t_ms: int) -> int:
        """Largest tick strictly < t_ms (used to walk back from 'now' during catch-up)."""
        return self._wall_cron.prev_before(ceil_s(t_ms)) * 1000

    def ticks_between(self, after_ms: int, until_ms: int, *, limit: int) -> tuple[list[int], bool]:
        check_limit(limit)
        return walk_back(self._wall_cron.prev_before, floor_s(after_ms), floor_s(until_ms), limit)

    def describe(self) -> str:
        return f"cron {self.expr!r}"

    @property
    def nominal_period_s(self) -> float:
        return self._period_s

    def resolved_fields(self) -> tuple[str, ...]:
        """The fields with each H replaced by the values it resolves to for this schedule
        (for readers that do not know H: Sentry, the description in words)."""
        hashed = [_is_hashed(f) for f in self._fields]
        if not any(hashed):
            return self._fields
        expanded = new_croniter(self.expr, self.hash_id).expanded
        if seconds_first(self._fields):  # back to the expression's order
            expanded = [expanded[_EXPANDED_SECONDS], *expanded[:_EXPANDED_SECONDS]]
        return tuple(
            ",".join(str(v) for v in expanded[i]) if hashed[i] else f
            for i, f in enumerate(self._fields)
        )

"""Schedule arithmetic: pure functions of time, so every expectation is an exact UTC instant."""

from __future__ import annotations

import copy
import itertools
import random
import re
import threading
import time
from datetime import date, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from croniter import croniter

from lockclock.errors import ScheduleError
from lockclock.options import make_schedule
from lockclock.scheduling import (
    CATCHUP_POLICIES,
    CronTrigger,
    IntervalTrigger,
    Schedule,
    parse_interval,
    resolve_zone,
)
from lockclock.sentry.monitors import sentry_schedule

NY = "America/New_York"
LONDON = "Europe/London"
TOKYO = "Asia/Tokyo"
KOLKATA = "Asia/Kolkata"
UTC = "UTC"


def job(*args: Any, **kwargs: Any) -> None:
    """A schedulable function."""


async def async_job() -> None:
    """A schedulable coroutine function."""


def ms(text: str) -> int:
    """'2026-03-08T07:00:00Z' -> UTC epoch milliseconds."""
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()) * 1000


def iso(t_ms: int) -> str:
    return datetime.fromtimestamp(t_ms / 1000, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def local(t_ms: int, zone: str) -> datetime:
    return datetime.fromtimestamp(t_ms / 1000, ZoneInfo(zone))


def next_ticks(s: Schedule, start: str, n: int) -> list[str]:
    out, t = [], ms(start)
    for _ in range(n):
        t = s.next_after(t)
        out.append(iso(t))
    return out


def walk_forward(s: Schedule, after_ms: int, until_ms: int) -> list[int]:
    """Reference enumeration: repeated next_after, the way a running clock sees ticks."""
    out, t = [], after_ms
    while (t := s.next_after(t)) <= until_ms:
        out.append(t)
    return out


def expect_error(match: str, **kwargs: Any) -> str:
    kwargs.setdefault("name", "app.x")
    with pytest.raises(ScheduleError) as info:
        make_schedule(job, **kwargs)
    message = str(info.value)
    assert match in message, message
    assert "\n" not in message
    assert message.startswith(f"schedule {kwargs['name']!r}: "), message
    return message


# --------------------------------------------------------------------------- cron basics


def test_five_field_cron_ticks_on_the_quarter_hour() -> None:
    s = make_schedule(job, "*/15 * * * *", tz=UTC)
    assert next_ticks(s, "2026-01-01T00:07:30Z", 3) == [
        "2026-01-01T00:15:00Z",
        "2026-01-01T00:30:00Z",
        "2026-01-01T00:45:00Z",
    ]


def test_next_after_is_strictly_after_even_between_whole_seconds() -> None:
    s = make_schedule(job, "*/15 * * * *", tz=UTC)
    assert iso(s.next_after(ms("2026-01-01T00:15:00Z"))) == "2026-01-01T00:30:00Z"
    assert iso(s.next_after(ms("2026-01-01T00:15:00Z") - 1)) == "2026-01-01T00:15:00Z"
    assert iso(s.next_after(ms("2026-01-01T00:15:00Z") + 1)) == "2026-01-01T00:30:00Z"
    assert s.next_after(ms("2026-01-01T00:15:00Z")) % 1000 == 0


def test_six_field_cron_has_seconds_first() -> None:
    every_10s = make_schedule(job, "*/10 * * * * *", tz=UTC)
    assert next_ticks(every_10s, "2026-01-01T12:00:05Z", 3) == [
        "2026-01-01T12:00:10Z",
        "2026-01-01T12:00:20Z",
        "2026-01-01T12:00:30Z",
    ]
    assert every_10s.trigger.nominal_period_s == 10
    noon_30s = make_schedule(job, "30 0 12 * * *", tz=UTC)
    assert next_ticks(noon_30s, "2026-01-01T12:00:30Z", 2) == [
        "2026-01-02T12:00:30Z",
        "2026-01-03T12:00:30Z",
    ]


def test_six_field_last_field_is_the_weekday_not_seconds() -> None:
    # the old seconds-last reading of '* * * * * */10' was every 10 s; seconds first, its
    # last field is the weekday (*/10 of 0-6: Sundays), so it runs every second of Sunday
    s = make_schedule(job, "* * * * * */10", tz=UTC)
    assert next_ticks(s, "2026-01-02T12:00:00Z", 2) == [  # a Friday
        "2026-01-04T00:00:00Z",
        "2026-01-04T00:00:01Z",
    ]


def test_six_field_hour_is_the_third_field_for_the_dst_rule() -> None:
    # fixed hour 2 (seconds first): the spring-forward gap runs at the jump, once
    s = make_schedule(job, "15 30 2 * * *", tz=NY)
    assert next_ticks(s, "2026-03-07T12:00:00Z", 2) == [
        "2026-03-08T07:00:00Z",
        "2026-03-09T06:30:15Z",
    ]


def test_six_field_hashed_seconds_resolve_in_the_expression_order() -> None:
    s = make_schedule(job, "H 0 3 * * *", tz=UTC, name="app.h6")
    fields = s.trigger.resolved_fields()  # type: ignore[union-attr]
    assert fields[1:] == ("0", "3", "*", "*", "*") and 0 <= int(fields[0]) <= 59
    tick = s.next_after(ms("2026-01-01T00:00:00Z"))
    assert iso(tick) == f"2026-01-01T03:00:{int(fields[0]):02d}Z"


def test_weekday_cron_in_a_zone() -> None:
    s = make_schedule(job, "0 9 * * 1-5", tz=NY)
    # Friday 2026-01-09 10:00 EST -> Monday 09:00 EST.
    assert next_ticks(s, "2026-01-09T15:00:00Z", 2) == [
        "2026-01-12T14:00:00Z",
        "2026-01-13T14:00:00Z",
    ]
    assert s.trigger.nominal_period_s == 86_400


def test_cron_is_normalised_and_described() -> None:
    s = make_schedule(job, "  */5   *  * * * ", tz=LONDON)
    assert isinstance(s.trigger, CronTrigger)
    assert s.trigger.expr == "*/5 * * * *"
    assert s.trigger.describe() == "cron '*/5 * * * *'"
    assert s.describe() == "cron '*/5 * * * *' in Europe/London"


def test_hash_h_is_stable_per_name_and_spreads_across_names() -> None:
    def minute_of(name: str) -> int:
        s = make_schedule(job, "H * * * *", tz=UTC, name=name)
        return local(s.next_after(ms("2026-01-01T00:00:00Z")), UTC).minute

    assert minute_of("app.a") == minute_of("app.a") == 38
    minutes = {minute_of(f"app.job{i}") for i in range(30)}
    assert all(0 <= m <= 59 for m in minutes)
    assert len(minutes) >= 10


def test_hash_h_schedule_ticks_hourly_at_its_minute() -> None:
    s = make_schedule(job, "H * * * *", tz=UTC, name="app.a")
    assert next_ticks(s, "2026-01-01T00:00:00Z", 2) == [
        "2026-01-01T00:38:00Z",
        "2026-01-01T01:38:00Z",
    ]
    # Sentry does not understand H, so it gets the resolved minute.
    assert sentry_schedule(s.trigger) == {"type": "crontab", "value": "38 * * * *"}


def test_hashed_hour_counts_as_a_fixed_hour() -> None:
    # H(1-2) hashes to 1 for this name: a fixed hour, so the repeated 01:00 runs once.
    s = make_schedule(job, "0 H(1-2) * * *", tz=NY, name="app.h1")
    assert next_ticks(s, "2026-10-31T12:00:00Z", 2) == [
        "2026-11-01T05:00:00Z",
        "2026-11-02T06:00:00Z",
    ]


# --------------------------------------------------------------------------- intervals


@pytest.mark.parametrize(
    ("every", "seconds"),
    [
        ("90s", 90),
        ("15m", 900),
        ("1h", 3600),
        ("1d", 86_400),
        ("2h30m", 9000),
        ("1h30m", 5400),
        ("1d2h", 93_600),
        (" 2H ", 7200),
        ("1m 30s", 90),
        ("45", 45),
        (45, 45),
        (60.0, 60),
        (timedelta(minutes=5), 300),
        (timedelta(days=2), 172_800),
    ],
)
def test_parse_interval_accepts_units(every: str | int | float | timedelta, seconds: int) -> None:
    assert parse_interval(every) == seconds


@pytest.mark.parametrize(
    "every",
    [
        "0s",
        "",
        "1.5h",
        "5x",
        "-5m",
        "1w",
        "500ms",
        "m",
        "30m1h",
        0,
        -1,
        1.5,
        True,
        float("nan"),
        float("inf"),
        timedelta(milliseconds=1500),
        timedelta(0),
        None,
        [1],
    ],
)
def test_parse_interval_rejects_with_units_in_message(every: Any) -> None:
    with pytest.raises(ScheduleError) as info:
        parse_interval(every)
    assert "'15m'" in str(info.value)
    assert "'1d'" in str(info.value)


def test_every_seconds_and_minutes_sit_on_an_epoch_grid() -> None:
    s = make_schedule(job, every="90s", tz=UTC)
    assert next_ticks(s, "2026-01-01T00:00:01Z", 2) == [
        "2026-01-01T00:01:30Z",
        "2026-01-01T00:03:00Z",
    ]
    assert s.trigger.nominal_period_s == 90
    quarter = make_schedule(job, every=timedelta(minutes=15), tz=KOLKATA)
    # The grid is k * every since the epoch: UTC quarter hours, whatever the zone.
    assert next_ticks(quarter, "2026-01-01T00:07:00Z", 2) == [
        "2026-01-01T00:15:00Z",
        "2026-01-01T00:30:00Z",
    ]


def test_interval_grid_survives_restarts_at_random_instants() -> None:
    s = make_schedule(job, every="7m", tz=NY)
    rng = random.Random(7)
    for _ in range(300):
        t = rng.randrange(ms("2026-01-01T00:00:00Z"), ms("2027-01-01T00:00:00Z"))
        tick = s.next_after(t)
        assert tick % 420_000 == 0
        assert t < tick <= t + 420_000
    # Two processes started at different times agree on every tick they both see.
    first = walk_forward(s, ms("2026-03-08T00:00:00Z"), ms("2026-03-08T12:00:00Z"))
    restarted = walk_forward(s, ms("2026-03-08T03:17:42Z") + 123, ms("2026-03-08T12:00:00Z"))
    assert restarted == [t for t in first if t > ms("2026-03-08T03:17:42Z") + 123]
    assert len(restarted) > 50


def test_every_hour_at_minute_past_the_hour() -> None:
    utc = make_schedule(job, every="1h", at=":15", tz=UTC)
    assert next_ticks(utc, "2026-01-01T10:20:00Z", 2) == [
        "2026-01-01T11:15:00Z",
        "2026-01-01T12:15:00Z",
    ]
    assert utc.describe() == "every 1h at :15 in UTC"


def test_every_hour_at_15_in_a_half_hour_zone_is_local_15() -> None:
    s = make_schedule(job, every="1h", at=":15", tz=KOLKATA)
    ticks = next_ticks(s, "2026-01-01T10:20:00Z", 2)
    assert ticks == ["2026-01-01T10:45:00Z", "2026-01-01T11:45:00Z"]
    assert [local(ms(t), KOLKATA).minute for t in ticks] == [15, 15]


def test_every_hour_at_keeps_real_spacing_across_dst() -> None:
    s = make_schedule(job, every="1h", at=":15:30", tz=LONDON)
    assert s.trigger.describe() == "every 1h at :15:30"
    ticks = walk_forward(s, ms("2026-10-24T12:00:00Z"), ms("2026-10-26T12:00:00Z"))
    assert len(ticks) == 48
    assert all(b - a == 3_600_000 for a, b in itertools.pairwise(ticks))
    assert {(local(t, LONDON).minute, local(t, LONDON).second) for t in ticks} == {(15, 30)}


def test_every_two_hours_at_minute_uses_standard_time_grid() -> None:
    s = make_schedule(job, every="2h", at=":05", tz=NY)
    # Even EST hours: 20:05 EST and 22:05 EST.
    assert next_ticks(s, "2026-01-15T00:00:00Z", 2) == [
        "2026-01-15T01:05:00Z",
        "2026-01-15T03:05:00Z",
    ]
    # DST does not move the grid (real spacing): in summer the same UTC grid is odd EDT hours.
    assert local(s.next_after(ms("2026-07-15T00:00:00Z")), NY).hour % 2 == 1


def test_every_day_at_local_time_of_day() -> None:
    s = make_schedule(job, every="1d", at="04:30", tz=NY)
    assert next_ticks(s, "2026-03-06T12:00:00Z", 3) == [
        "2026-03-07T09:30:00Z",  # 04:30 EST
        "2026-03-08T08:30:00Z",  # 04:30 EDT
        "2026-03-09T08:30:00Z",
    ]
    assert s.describe() == "every 1d at 04:30 in America/New_York"
    assert s.trigger.nominal_period_s == 86_400


def test_every_day_defaults_to_midnight() -> None:
    s = make_schedule(job, every=timedelta(days=1), tz=TOKYO)
    assert next_ticks(s, "2026-01-01T12:00:00Z", 1) == ["2026-01-01T15:00:00Z"]
    assert isinstance(s.trigger, IntervalTrigger)
    assert s.trigger.at == "00:00"
    assert s.describe() == "every 1d at 00:00 in Asia/Tokyo"


def test_multi_day_every_fires_on_a_stable_date_grid() -> None:
    s = make_schedule(job, every="3d", at="06:00", tz=UTC)
    # date.toordinal() % 3 == 0 for 2026-01-01, 01-04, 01-07.
    assert next_ticks(s, "2025-12-31T12:00:00Z", 3) == [
        "2026-01-01T06:00:00Z",
        "2026-01-04T06:00:00Z",
        "2026-01-07T06:00:00Z",
    ]
    # Restarting mid-cycle lands on the same grid.
    assert iso(s.next_after(ms("2026-01-02T17:23:00Z"))) == "2026-01-04T06:00:00Z"
    assert iso(s.next_after(ms("2026-01-04T06:00:00Z"))) == "2026-01-07T06:00:00Z"
    assert iso(s.trigger.prev_before(ms("2026-01-06T00:00:00Z"))) == "2026-01-04T06:00:00Z"


def test_multi_day_every_keeps_wall_time_across_dst() -> None:
    s = make_schedule(job, every="2d", at="06:00", tz=NY)
    ticks = walk_forward(s, ms("2026-01-01T00:00:00Z"), ms("2027-01-01T00:00:00Z"))
    walls = [local(t, NY) for t in ticks]
    assert {(w.hour, w.minute) for w in walls} == {(6, 0)}
    assert all(w.date().toordinal() % 2 == 0 for w in walls)
    assert len(ticks) == 182
    assert walls[0].date() == date(2026, 1, 2)


# --------------------------------------------------------------------------- DST


def test_ny_spring_forward_fixed_hour_runs_at_the_jump() -> None:
    s = make_schedule(job, "30 2 * * *", tz=NY)
    assert next_ticks(s, "2026-03-07T12:00:00Z", 3) == [
        "2026-03-08T07:00:00Z",  # 02:30 does not exist: 03:00 EDT
        "2026-03-09T06:30:00Z",
        "2026-03-10T06:30:00Z",
    ]
    jump = ms("2026-03-08T07:00:00Z")
    # Queries right next to the jump (the search windows' edge cases).
    assert s.next_after(jump - 1000) == s.next_after(jump - 1) == jump
    assert s.trigger.prev_before(jump + 1000) == s.trigger.prev_before(jump + 1) == jump
    assert iso(s.trigger.prev_before(jump)) == "2026-03-07T07:30:00Z"


def test_ny_fall_back_fixed_hour_runs_once_at_first_occurrence() -> None:
    s = make_schedule(job, "30 1 * * *", tz=NY)
    assert next_ticks(s, "2026-10-31T12:00:00Z", 2) == [
        "2026-11-01T05:30:00Z",  # 01:30 EDT; 01:30 EST (06:30Z) is dropped
        "2026-11-02T06:30:00Z",
    ]
    assert iso(s.next_after(ms("2026-11-01T05:45:00Z"))) == "2026-11-02T06:30:00Z"
    assert iso(s.trigger.prev_before(ms("2026-11-02T00:00:00Z"))) == "2026-11-01T05:30:00Z"


def test_ny_two_skipped_times_collapse_into_one_tick() -> None:
    s = make_schedule(job, "0,30 2 * * *", tz=NY)
    assert next_ticks(s, "2026-03-07T12:00:00Z", 3) == [
        "2026-03-08T07:00:00Z",
        "2026-03-09T06:00:00Z",
        "2026-03-09T06:30:00Z",
    ]


def test_ny_fixed_hour_minute_list_on_fall_back_runs_first_hour_only() -> None:
    s = make_schedule(job, "*/20 1 * * *", tz=NY)
    assert next_ticks(s, "2026-11-01T04:30:00Z", 4) == [
        "2026-11-01T05:00:00Z",
        "2026-11-01T05:20:00Z",
        "2026-11-01T05:40:00Z",
        "2026-11-02T06:00:00Z",
    ]


def test_ny_wildcard_hour_runs_both_fall_back_hours() -> None:
    s = make_schedule(job, "0 * * * *", tz=NY)
    assert next_ticks(s, "2026-11-01T04:30:00Z", 3) == [
        "2026-11-01T05:00:00Z",  # 01:00 EDT
        "2026-11-01T06:00:00Z",  # 01:00 EST
        "2026-11-01T07:00:00Z",  # 02:00 EST
    ]


def test_ny_wildcard_hour_skips_the_missing_hour_on_spring_forward() -> None:
    s = make_schedule(job, "0 * * * *", tz=NY)
    assert next_ticks(s, "2026-03-08T05:30:00Z", 3) == [
        "2026-03-08T06:00:00Z",  # 01:00 EST
        "2026-03-08T07:00:00Z",  # 03:00 EDT
        "2026-03-08T08:00:00Z",
    ]


def test_ny_wildcard_minutes_keep_real_spacing_through_the_repeated_hour() -> None:
    s = make_schedule(job, "*/20 * * * *", tz=NY)
    ticks = walk_forward(s, ms("2026-11-01T04:00:00Z"), ms("2026-11-01T08:00:00Z"))
    assert len(ticks) == 12
    assert all(b - a == 1_200_000 for a, b in itertools.pairwise(ticks))


def test_london_fixed_hour_spring_forward_and_fall_back() -> None:
    s = make_schedule(job, "30 1 * * *", tz=LONDON)
    # 2026-03-29: 01:00 GMT jumps to 02:00 BST, so 01:30 runs at the jump (01:00Z).
    assert next_ticks(s, "2026-03-28T12:00:00Z", 2) == [
        "2026-03-29T01:00:00Z",
        "2026-03-30T00:30:00Z",
    ]
    # 2026-10-25: 01:30 happens in BST (00:30Z) and again in GMT (01:30Z); only the first runs.
    assert next_ticks(s, "2026-10-24T12:00:00Z", 2) == [
        "2026-10-25T00:30:00Z",
        "2026-10-26T01:30:00Z",
    ]


def test_london_wildcard_hour_on_fall_back() -> None:
    s = make_schedule(job, "0 * * * *", tz=LONDON)
    assert next_ticks(s, "2026-10-24T23:30:00Z", 3) == [
        "2026-10-25T00:00:00Z",  # 01:00 BST
        "2026-10-25T01:00:00Z",  # 01:00 GMT
        "2026-10-25T02:00:00Z",
    ]


@pytest.mark.parametrize("kind", ["cron", "every"])
def test_tokyo_daily_ticks_are_exactly_a_day_apart_all_year(kind: str) -> None:
    if kind == "cron":
        s = make_schedule(job, "0 9 * * *", tz=TOKYO)
    else:
        s = make_schedule(job, every="1d", at="09:00", tz=TOKYO)
    ticks = walk_forward(s, ms("2025-12-31T12:00:00Z"), ms("2026-12-31T12:00:00Z"))
    assert len(ticks) == 365
    assert iso(ticks[0]) == "2026-01-01T00:00:00Z"
    assert all(b - a == 86_400_000 for a, b in itertools.pairwise(ticks))


def test_every_hour_keeps_real_spacing_across_both_ny_transitions() -> None:
    s = make_schedule(job, every="1h", tz=NY)
    for start, end in [
        ("2026-03-07T12:00:00Z", "2026-03-09T12:00:00Z"),
        ("2026-10-31T12:00:00Z", "2026-11-02T12:00:00Z"),
    ]:
        ticks = walk_forward(s, ms(start), ms(end))
        assert len(ticks) == 48
        assert all(b - a == 3_600_000 for a, b in itertools.pairwise(ticks))
    fall_hours = [
        local(t, NY).hour
        for t in walk_forward(s, ms("2026-11-01T04:00:00Z"), ms("2026-11-01T07:00:00Z"))
    ]
    assert fall_hours == [1, 1, 2]


def test_daily_every_on_fall_back_runs_once() -> None:
    s = make_schedule(job, every="1d", at="01:30", tz=NY)
    assert next_ticks(s, "2026-10-31T12:00:00Z", 2) == [
        "2026-11-01T05:30:00Z",
        "2026-11-02T06:30:00Z",
    ]


def test_daily_every_in_spring_gap_runs_at_the_jump() -> None:
    s = make_schedule(job, every="1d", at="02:30", tz=NY)
    assert next_ticks(s, "2026-03-07T12:00:00Z", 2) == [
        "2026-03-08T07:00:00Z",
        "2026-03-09T06:30:00Z",
    ]


def _oracle(expr: str, zone: str, fixed_hour: bool, lo_s: int, hi_s: int) -> list[int]:
    """Brute force, independent of lockclock: test every UTC minute in (lo, hi] against the
    cron on its local wall time, then apply the DST rule by hand."""
    tz = ZoneInfo(zone)
    minutes, hours, *rest = croniter(expr).expanded
    assert all(f == ["*"] for f in rest[:3]), "the oracle matches minute and hour only"

    def match(w: datetime) -> bool:  # croniter.match, without building a croniter per call
        return (minutes == ["*"] or w.minute in minutes) and (hours == ["*"] or w.hour in hours)

    def offset(u: int) -> int:
        return int(datetime.fromtimestamp(u, tz).utcoffset().total_seconds())  # type: ignore[union-attr]

    out = []
    for u in range(lo_s - lo_s % 60 + 60, hi_s + 1, 60):
        aware = datetime.fromtimestamp(u, tz)
        wall = aware.replace(tzinfo=None)
        # A real wall time whose two folds differ in offset is one a fall-back repeats.
        repeated = (
            wall.replace(tzinfo=tz, fold=0).utcoffset()
            != wall.replace(tzinfo=tz, fold=1).utcoffset()
        )
        hit = match(wall)
        if hit and fixed_hour and repeated and aware.fold == 1:
            hit = False
        if not hit and fixed_hour and offset(u - 1) < offset(u):
            skipped_start = datetime(1970, 1, 1) + timedelta(seconds=u + offset(u - 1))
            skipped = [
                skipped_start + timedelta(minutes=k)
                for k in range(0, (offset(u) - offset(u - 1)) // 60)
            ]
            hit = any(match(w) for w in skipped)
        if hit:
            out.append(u * 1000)
    return out


TRANSITION_DAYS = [
    (NY, "2026-03-08T00:00:00Z"),
    (NY, "2026-11-01T00:00:00Z"),
    (LONDON, "2026-03-29T00:00:00Z"),
    (LONDON, "2026-10-25T00:00:00Z"),
    ("Australia/Lord_Howe", "2026-04-04T12:00:00Z"),  # 30-minute DST
    ("Australia/Lord_Howe", "2026-10-03T12:00:00Z"),
]
DST_EXPRS = [
    ("30 2 * * *", True),
    ("30 1 * * *", True),
    ("0,30 1,2 * * *", True),
    ("* 1 * * *", True),
    ("0 * * * *", False),
    ("*/20 * * * *", False),
    ("15 */2 * * *", False),
]


@pytest.mark.parametrize(("zone", "day"), TRANSITION_DAYS)
@pytest.mark.parametrize(("expr", "fixed_hour"), DST_EXPRS)
def test_cron_over_whole_transition_days_matches_brute_force(
    zone: str, day: str, expr: str, fixed_hour: bool
) -> None:
    s = make_schedule(job, expr, tz=zone)
    lo, hi = ms(day) - 6 * 3_600_000, ms(day) + 48 * 3_600_000
    expected = _oracle(expr, zone, fixed_hour, lo // 1000, hi // 1000)
    forward = walk_forward(s, lo, hi)
    assert forward == expected
    assert all(b > a for a, b in itertools.pairwise(forward))
    backward, t = [], hi + 1
    while (t := s.trigger.prev_before(t)) > lo:
        backward.append(t)
    assert backward[::-1] == expected
    assert s.ticks_between(lo, hi, limit=10_000) == (expected, False)
    assert len(expected) >= 2
    rng = random.Random(f"{zone}{expr}")
    for _ in range(40):
        q = rng.randrange(lo, expected[-1])
        assert s.next_after(q) == min(t for t in expected if t > q)


@pytest.mark.parametrize(
    ("zone", "every", "at"),
    [(NY, "1h", None), (NY, "15m", None), (LONDON, "1h", ":30"), (NY, "1d", "01:30")],
)
@pytest.mark.parametrize("day", ["2026-03-08T00:00:00Z", "2026-11-01T00:00:00Z"])
def test_every_over_whole_transition_days_is_strictly_increasing(
    zone: str, every: str, at: str | None, day: str
) -> None:
    s = make_schedule(job, every=every, at=at, tz=zone)
    lo, hi = ms(day) - 86_400_000, ms(day) + 2 * 86_400_000
    ticks = walk_forward(s, lo, hi)
    assert all(b > a for a, b in itertools.pairwise(ticks))
    assert s.ticks_between(lo, hi, limit=10_000) == (ticks, False)
    rng = random.Random(day)
    for _ in range(50):
        q = rng.randrange(lo, ticks[-1])
        assert s.next_after(q) == min(t for t in ticks if t > q)
        if q > ticks[0]:
            assert s.trigger.prev_before(q) == max(t for t in ticks if t < q)


# --------------------------------------------------------------------------- ticks_between


def test_ticks_between_is_after_exclusive_until_inclusive() -> None:
    s = make_schedule(job, "*/15 * * * *", tz=NY)
    got = s.ticks_between(ms("2026-11-01T05:00:00Z"), ms("2026-11-01T06:00:00Z"), limit=10)
    assert ([iso(t) for t in got[0]], got[1]) == (
        [
            "2026-11-01T05:15:00Z",
            "2026-11-01T05:30:00Z",
            "2026-11-01T05:45:00Z",
            "2026-11-01T06:00:00Z",
        ],
        False,
    )
    assert s.ticks_between(ms("2026-11-01T05:00:00Z"), ms("2026-11-01T05:00:00Z"), limit=5) == (
        [],
        False,
    )


@pytest.mark.parametrize("how", ["cron", "every"])
def test_ticks_between_truncates_to_the_most_recent(how: str) -> None:
    if how == "cron":
        s = make_schedule(job, "*/15 * * * *", tz=NY)
    else:
        s = make_schedule(job, every="15m", tz=NY)
    after, until = ms("2026-11-01T04:00:00Z"), ms("2026-11-01T08:00:00Z") + 500
    everything = walk_forward(s, after, until)
    assert len(everything) == 16
    assert s.ticks_between(after, until, limit=16) == (everything, False)
    assert s.ticks_between(after, until, limit=15) == (everything[1:], True)
    ticks, truncated = s.ticks_between(after, until, limit=3)
    assert truncated
    assert [iso(t) for t in ticks] == [
        "2026-11-01T07:30:00Z",
        "2026-11-01T07:45:00Z",
        "2026-11-01T08:00:00Z",
    ]


@pytest.mark.parametrize("how", ["cron", "every"])
def test_ticks_between_per_second_over_a_day_is_fast(how: str) -> None:
    if how == "cron":
        s = make_schedule(job, "* * * * * *", tz=NY)
    else:
        s = make_schedule(job, every=1, tz=NY)
    # The fall-back day: 25 hours of per-second ticks, 90,000 of them.
    after, until = ms("2026-11-01T04:00:00Z"), ms("2026-11-02T05:00:00Z")
    started = time.perf_counter()
    ticks, truncated = s.ticks_between(after, until, limit=100)
    elapsed = time.perf_counter() - started
    assert truncated
    assert ticks == [until - 1000 * k for k in range(99, -1, -1)]
    assert elapsed < 0.5


def test_ticks_between_for_daily_every_walks_back() -> None:
    s = make_schedule(job, every="1d", at="04:30", tz=NY)
    ticks, truncated = s.ticks_between(
        ms("2026-01-01T00:00:00Z"), ms("2026-03-09T00:00:00Z"), limit=2
    )
    assert truncated
    assert [iso(t) for t in ticks] == ["2026-03-07T09:30:00Z", "2026-03-08T08:30:00Z"]


def test_ticks_between_rejects_a_zero_limit() -> None:
    s = make_schedule(job, every="1m", tz=UTC)
    with pytest.raises(ScheduleError, match="limit"):
        s.ticks_between(0, 60_000, limit=0)


# --------------------------------------------------------------------------- invalid input


def test_invalid_cron_message_names_schedule_field_and_fix() -> None:
    with pytest.raises(ScheduleError) as info:
        make_schedule(job, "61 * * * *", name="app.nightly")
    assert str(info.value) == (
        "schedule 'app.nightly': invalid cron expression '61 * * * *' (minute must be 0-59, "
        "got '61'); expected 5 fields 'min hour day month weekday', or 6 with seconds first "
        "'sec min hour day month weekday'"
    )


@pytest.mark.parametrize(
    ("cron", "match"),
    [
        ("* * * *", "has 4 fields"),
        ("0 0 * * * * 2026", "has 7 fields"),
        ("", "has 0 fields"),
        ("0 24 * * *", "hour must be 0-23, got '24'"),
        ("0 0 32 * *", "day of month must be 1-31"),
        ("0 0 * 13 *", "month must be 1-12 or JAN-DEC"),
        ("0 0 * * 9", "day of week must be 0-7 or SUN-SAT"),
        ("60 0 0 * * *", "second must be 0-59"),
        ("@daily", "'0 0 * * *'"),
        ("R * * * *", "use H"),
        ("0 0 30 2 *", "never matches"),
    ],
)
def test_invalid_cron_expressions(cron: str, match: str) -> None:
    message = expect_error(match, cron=cron)
    if "fields" in match:
        assert "expected 5 fields" in message


def test_cron_trigger_validates_on_direct_construction() -> None:
    with pytest.raises(ScheduleError, match="minute must be 0-59"):
        CronTrigger(expr="61 * * * *", tz=ZoneInfo(UTC), hash_id="x")
    with pytest.raises(ScheduleError, match="hash_id"):
        CronTrigger(expr="H * * * *", tz=ZoneInfo(UTC), hash_id="")
    a = CronTrigger(expr="0 * * * *", tz=ZoneInfo(UTC), hash_id="x")
    assert a == CronTrigger(expr="0  *  * * *", tz=ZoneInfo(UTC), hash_id="x")


def test_cron_and_every_are_exclusive() -> None:
    expect_error("either cron= or every=, not both", cron="* * * * *", every="1m")
    expect_error("cron='*/5 * * * *' or every='5m'")


@pytest.mark.parametrize(
    ("every", "at", "match"),
    [
        ("1h", "15", "use ':MM' or ':MM:SS'"),
        ("1h", ":75", "minute and second must be 0-59"),
        ("1h", ":15:60", "minute and second must be 0-59"),
        ("15m", ":05", "whole number of hours (got 15m)"),
        ("90m", ":05", "whole number of hours (got 1h30m)"),
        ("1h", "04:30", "needs every to be whole days such as '1d'"),
        ("1d", ":30", "give a time of day as 'HH:MM'"),
        ("1d", "25:00", "hour must be 0-23"),
        ("1d", "12:60", "minute and second 0-59"),
        ("1d", "4pm", "use 'HH:MM' or 'HH:MM:SS'"),
        ("36h", None, "not whole days: use whole days such as '1d'"),
    ],
)
def test_invalid_every_and_at(every: str, at: str | None, match: str) -> None:
    expect_error(match, every=every, at=at)


def test_at_with_cron_is_rejected() -> None:
    expect_error("at= only applies to every=", cron="0 4 * * *", at="04:30")


def test_unknown_zone_message() -> None:
    with pytest.raises(ScheduleError) as info:
        make_schedule(job, every="1h", tz="Mars/Base", name="app.x")
    assert str(info.value) == (
        "schedule 'app.x': unknown time zone 'Mars/Base': use an IANA name such as 'Europe/London'"
    )
    expect_error("did you mean 'Europe/London'?", every="1h", tz="europe/london")
    expect_error("IANA name", every="1h", tz=5)
    with pytest.raises(ScheduleError, match="unknown time zone 'America'"):
        resolve_zone("America")


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        ({"args": [object()]}, "args must be JSON-serialisable"),
        ({"args": [float("nan")]}, "args must be JSON-serialisable"),
        ({"args": "abc"}, "args must be a list or tuple"),
        ({"kwargs": {"when": datetime(2026, 1, 1)}}, "kwargs must be JSON-serialisable"),
        ({"kwargs": {1: 2}}, "kwargs keys must be strings"),
        ({"kwargs": [("a", 1)]}, "kwargs must be a dict"),
        ({"catchup": "sometimes"}, "use one of latest, skip, all"),
        ({"catchup_limit": 0}, "invalid catchup_limit 0: use an integer >= 1"),
        ({"catchup_limit": 2.5}, "invalid catchup_limit"),
        ({"max_lateness": 0}, "invalid max_lateness 0"),
        ({"max_lateness": -5}, "invalid max_lateness -5"),
        ({"max_lateness": timedelta(0)}, "invalid max_lateness"),
        ({"max_lateness": float("nan")}, "invalid max_lateness"),
        ({"max_lateness": "5m"}, "invalid max_lateness"),
    ],
)
def test_invalid_schedule_options(extra: dict[str, Any], match: str) -> None:
    expect_error(match, every="1h", **extra)


def test_bad_name_and_func() -> None:
    with pytest.raises(ScheduleError, match="non-empty single-line"):
        make_schedule(job, every="1h", name="")
    with pytest.raises(ScheduleError, match="non-empty single-line"):
        make_schedule(job, every="1h", name="a\nb")
    with pytest.raises(ScheduleError, match="not callable"):
        make_schedule("app.job", every="1h")  # type: ignore[arg-type]


def test_schedule_rejects_a_trigger_in_another_zone() -> None:
    trigger = IntervalTrigger(every_s=60, at=None, tz=ZoneInfo(UTC))
    with pytest.raises(
        ScheduleError, match=re.escape("schedule 'app.x': trigger zone UTC differs")
    ):
        Schedule(
            name="app.x",
            func=job,
            trigger=trigger,
            tz=ZoneInfo(TOKYO),
            args=(),
            kwargs={},
            catchup="latest",
            catchup_limit=10,
            max_lateness_s=60.0,
            enabled=True,
            is_async=False,
        )


def test_interval_trigger_validates_on_direct_construction() -> None:
    with pytest.raises(ScheduleError, match="'15m'"):
        IntervalTrigger(every_s=0, at=None, tz=ZoneInfo(UTC))
    with pytest.raises(ScheduleError, match="whole number of hours"):
        IntervalTrigger(every_s=600, at=":05", tz=ZoneInfo(UTC))
    with pytest.raises(ScheduleError, match="tz must be a ZoneInfo"):
        IntervalTrigger(every_s=600, at=None, tz="UTC")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- defaults and metadata


def test_defaults_and_field_values() -> None:
    s = make_schedule(job, every="15m", args=[1, "a"], kwargs={"k": [1, 2]})
    assert s.name == f"{job.__module__}.job"
    assert s.args == (1, "a")
    assert s.kwargs == {"k": [1, 2]}
    assert (s.catchup, s.catchup_limit, s.enabled, s.is_async) == ("latest", 10, True, False)
    assert s.max_lateness_s == 900
    assert CATCHUP_POLICIES == ("latest", "skip", "all")


def test_default_name_of_a_nested_function() -> None:
    def inner() -> None:
        pass

    s = make_schedule(inner, every="1h")
    assert s.name == f"{__name__}.test_default_name_of_a_nested_function.<locals>.inner"


def test_async_function_is_detected() -> None:
    assert make_schedule(async_job, every="1h").is_async is True


@pytest.mark.parametrize(
    ("kwargs", "lateness"),
    [
        ({"every": "10s"}, 60.0),
        ({"every": "2h"}, 7200.0),
        ({"cron": "0 3 * * *"}, 86_400.0),
        ({"cron": "0 0 1 * *"}, 28 * 86_400.0),
        ({"every": "1h", "max_lateness": 30}, 30.0),
        ({"every": "1h", "max_lateness": timedelta(minutes=2)}, 120.0),
    ],
)
def test_max_lateness_default_is_one_period_at_least_a_minute(
    kwargs: dict[str, Any], lateness: float
) -> None:
    assert make_schedule(job, **kwargs).max_lateness_s == lateness


def test_catchup_all_with_limit() -> None:
    s = make_schedule(job, every="1m", catchup="all", catchup_limit=3, enabled=False)
    assert (s.catchup, s.catchup_limit, s.enabled) == ("all", 3, False)


@pytest.mark.parametrize(
    ("kwargs", "sentry"),
    [
        ({"cron": "0 9 * * 1-5"}, {"type": "crontab", "value": "0 9 * * 1-5"}),
        ({"cron": "0 0 9 * * 1-5"}, {"type": "crontab", "value": "0 9 * * 1-5"}),
        ({"cron": "*/10 * * * * *"}, None),
        ({"cron": "30 0 9 * * *"}, None),
        ({"every": "15m"}, {"type": "interval", "value": 15, "unit": "minute"}),
        ({"every": "90m"}, {"type": "interval", "value": 90, "unit": "minute"}),
        ({"every": "2h", "at": ":05"}, {"type": "interval", "value": 2, "unit": "hour"}),
        ({"every": "1d", "at": "04:30"}, {"type": "crontab", "value": "30 4 * * *"}),
        ({"every": "1d", "at": "04:30:15"}, None),
        ({"every": "2d"}, None),
        ({"every": "90s"}, None),
        ({"every": "45s"}, None),
    ],
)
def test_sentry_schedule(kwargs: dict[str, Any], sentry: dict[str, Any] | None) -> None:
    assert sentry_schedule(make_schedule(job, **kwargs).trigger) == sentry


def test_describe() -> None:
    assert make_schedule(job, every="15m", tz=UTC).describe() == "every 15m in UTC"
    assert make_schedule(job, every=5400, tz=UTC).describe() == "every 1h30m in UTC"
    assert make_schedule(job, every="1h", at=":5", tz=KOLKATA).describe() == (
        "every 1h at :05 in Asia/Kolkata"
    )
    assert make_schedule(job, "0 9 * * 1-5", tz=TOKYO).describe() == (
        "cron '0 9 * * 1-5' in Asia/Tokyo"
    )


def test_nominal_period_of_cron() -> None:
    assert make_schedule(job, "*/5 * * * *").trigger.nominal_period_s == 300
    assert make_schedule(job, "0 0 1 * *").trigger.nominal_period_s == 28 * 86_400
    assert make_schedule(job, "* * * * * *").trigger.nominal_period_s == 1


# --------------------------------------------------------------------------- zones


@pytest.mark.parametrize(
    ("env", "zone"),
    [
        ("Asia/Tokyo", TOKYO),
        (":Europe/London", LONDON),
        ("/usr/share/zoneinfo/Europe/Paris", "Europe/Paris"),
        (":UTC", UTC),
        ("Mars/Base", UTC),
        ("", UTC),
        (None, UTC),
    ],
)
def test_tz_env_default(monkeypatch: pytest.MonkeyPatch, env: str | None, zone: str) -> None:
    if env is None:
        monkeypatch.delenv("TZ", raising=False)
    else:
        monkeypatch.setenv("TZ", env)
    assert resolve_zone(None) == ZoneInfo(zone)
    s = make_schedule(job, every="1d", at="09:00")
    assert s.tz == ZoneInfo(zone)
    assert s.describe().endswith(f" in {zone}")


def test_tz_env_drives_tick_instants(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    s = make_schedule(job, "0 9 * * *")
    assert next_ticks(s, "2026-01-01T12:00:00Z", 1) == ["2026-01-02T00:00:00Z"]


def test_explicit_zone_beats_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    zone = ZoneInfo(LONDON)
    assert resolve_zone(zone) is zone
    assert make_schedule(job, every="1h", tz=" Europe/London ").tz == zone


# --------------------------------------------------------------------------- robustness


def test_triggers_survive_copy_and_give_the_same_ticks() -> None:
    s = make_schedule(job, "30 1 * * *", tz=NY)
    clone = copy.deepcopy(s.trigger)
    assert clone == s.trigger
    start = ms("2026-10-30T00:00:00Z")
    assert clone.next_after(start) == s.next_after(start) == ms("2026-10-30T05:30:00Z")


def test_next_after_is_consistent_across_threads() -> None:
    s = make_schedule(job, "*/7 * * * *", tz=NY)
    rng = random.Random(3)
    queries = [
        rng.randrange(ms("2026-10-31T00:00:00Z"), ms("2026-11-02T00:00:00Z")) for _ in range(400)
    ]
    expected = [s.next_after(q) for q in queries]
    shared = make_schedule(job, "*/7 * * * *", tz=NY)  # fresh caches, searched concurrently
    results: list[list[int]] = []

    def worker(offset: int) -> None:
        order = queries[offset:] + queries[:offset]
        answers = dict(zip(order, (shared.next_after(q) for q in order), strict=True))
        results.append([answers[q] for q in queries])

    threads = [threading.Thread(target=worker, args=(k * 61,)) for k in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [expected] * 6

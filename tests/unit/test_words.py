"""Six fields read seconds first, by lockclock (croniter) and in words (cron-descriptor)
alike; and a schedule published under the old seconds-last reading stops the clock."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
import redis

from lockclock.coordination.store import Store
from lockclock.engine.upgrades import check_six_field_readings
from lockclock.errors import LayoutError
from lockclock.options import make_schedule
from lockclock.scheduling.words import in_words


def job() -> None: ...


def ticks(expr: str, start: str, n: int) -> list[str]:
    s = make_schedule(job, expr, tz="UTC", name="w")
    t = int(datetime.fromisoformat(start).replace(tzinfo=timezone.utc).timestamp() * 1000)
    out = []
    for _ in range(n):
        t = s.next_after(t)
        out.append(datetime.fromtimestamp(t / 1000, timezone.utc).strftime("%H:%M:%S"))
    return out


@pytest.mark.parametrize(
    ("expr", "words", "first_ticks"),
    [
        ("*/10 * * * * *", "Every 10 seconds", ["00:00:10", "00:00:20", "00:00:30"]),
        ("* * * * * *", "Every second", ["00:00:01", "00:00:02", "00:00:03"]),
        ("30 0 3 * * *", "At 03:00:30", ["03:00:30", "03:00:30", "03:00:30"]),
        ("0 */15 * * * *", "Every 15 minutes", ["00:15:00", "00:30:00", "00:45:00"]),
        ("0 3 * * *", "At 03:00", ["03:00:00", "03:00:00", "03:00:00"]),
        ("*/5 * * * *", "Every 5 minutes", ["00:05:00", "00:10:00", "00:15:00"]),
    ],
)
def test_croniter_and_the_words_read_six_fields_seconds_first(
    expr: str, words: str, first_ticks: list[str]
) -> None:
    assert in_words(make_schedule(job, expr, tz="UTC", name="w").trigger) == words
    assert ticks(expr, "2026-01-01T00:00:00", 3) == first_ticks


def test_hashed_fields_read_as_what_they_resolve_to() -> None:
    s = make_schedule(job, "H 3 * * *", tz="UTC", name="app.nightly")
    minute = s.trigger.resolved_fields()[0]  # type: ignore[union-attr]
    assert in_words(s.trigger) == f"At 03:{int(minute):02d}"


def test_intervals_read_as_they_are_written() -> None:
    assert in_words(make_schedule(job, every="15m").trigger) == "Every 15m"
    assert in_words(make_schedule(job, every="1d", at="04:30").trigger) == "Every 1d at 04:30"


def _publish_legacy(client: redis.Redis, store: Store, name: str, expr: str) -> None:
    """What a build before layout 2 published: no hash tag, seconds-last crons."""
    client.hset(store.keys.legacy_schedules, name, f'{{"trigger": "cron \'{expr}\' in UTC"}}')


def test_a_six_field_schedule_published_under_the_old_reading_is_refused(
    client: redis.Redis, namespace: str
) -> None:
    store = Store(client, namespace)
    _publish_legacy(client, store, "poll", "* * * * * */10")
    poll = make_schedule(job, "* * * * * */10", tz="UTC", name="poll")
    with pytest.raises(LayoutError) as err:
        check_six_field_readings(store, [poll])
    text = str(err.value)
    assert "\n" not in text and "'poll'" in text
    assert "seconds last (Every 10 seconds)" in text  # the old reading
    assert "seconds first (Every second, every 10 days of the week)" in text  # the new one
    assert "write '*/10 * * * * *'" in text and f"DEL {namespace}:schedules" in text


def test_rewritten_same_in_both_readings_or_five_fields_is_not_refused(
    client: redis.Redis, namespace: str
) -> None:
    store = Store(client, namespace)
    _publish_legacy(client, store, "poll", "* * * * * */10")
    _publish_legacy(client, store, "every_second", "* * * * * *")
    _publish_legacy(client, store, "nightly", "0 3 * * *")
    check_six_field_readings(
        store,
        [
            make_schedule(job, "*/10 * * * * *", tz="UTC", name="poll"),  # rewritten
            make_schedule(job, "* * * * * *", tz="UTC", name="every_second"),
            make_schedule(job, "0 3 * * *", tz="UTC", name="nightly"),
        ],
    )

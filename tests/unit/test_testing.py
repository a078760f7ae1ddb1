"""lockclock.testing: a schedule's job run in a user's own tests, no clock, no Redis."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import get_args
from zoneinfo import ZoneInfo

import pytest

from lockclock import Clock, Interrupted, ProgressTooLarge, ScheduleError, current_run
from lockclock.coordination.records import RunStatus
from lockclock.errors import JobImportError
from lockclock.execution.control import PROGRESS_MAX_BYTES
from lockclock.testing import TestOutcome, next_ticks, resume, run_once

UTC = timezone.utc
BERLIN = ZoneInfo("Europe/Berlin")
ROWS = ["a", "b", "c", "d", "e"]
PROCESSED: list[str] = []

clock = Clock(tz="UTC")


@clock.schedule(every="1h", name="hourly")
def hourly() -> str:
    run = current_run()
    return f"{run.schedule} {run.tick.isoformat()} attempt={run.attempt} fence={run.fence}"


@clock.schedule("*/5 * * * *", name="async-job", args=[7])
async def async_job(factor: int) -> int:
    await asyncio.sleep(0)
    return current_run().attempt * factor


def rows(cursor: int | None) -> Iterator[tuple[str, int]]:
    for i in range(cursor or 0, len(ROWS)):
        yield ROWS[i], i + 1


@clock.schedule("0 3 * * *", tz="Europe/Berlin", name="backfill")
def backfill() -> int:
    for item in current_run().each(rows):
        PROCESSED.append(item)
    return len(PROCESSED)


@clock.schedule("0 4 * * *", name="broken")
def broken() -> None:
    raise RuntimeError("disk full")


@clock.schedule("0 5 * * *", name="bad-progress")
def bad_progress() -> None:
    current_run().save_progress({"at": datetime(2026, 1, 1)})  # a datetime is not JSON


@clock.schedule("0 6 * * *", name="huge-progress")
def huge_progress() -> None:
    current_run().save_progress("x" * (PROGRESS_MAX_BYTES + 1))


@clock.schedule("0 7 * * *", name="stops-unasked")
def stops_unasked() -> None:
    current_run().raise_if_stopping()
    raise Interrupted("nobody asked")


@clock.schedule("0 8 * * *", name="slow")
def slow() -> None:
    for _ in current_run().each(rows):
        time.sleep(0.02)


@clock.schedule("30 2 * * *", tz="Europe/Berlin", name="berlin-nightly")
def berlin_nightly() -> None: ...


@pytest.fixture(autouse=True)
def _fresh_rows() -> Iterator[None]:
    PROCESSED.clear()
    yield
    PROCESSED.clear()


def test_default_tick_is_the_latest_at_or_before_now() -> None:
    before = datetime.now(UTC)
    run = run_once(clock, "hourly")
    after = datetime.now(UTC)
    tick = run.context.tick
    assert tick.utcoffset() == timedelta(0)
    assert (tick.minute, tick.second, tick.microsecond) == (0, 0, 0)
    assert before - timedelta(hours=1) < tick <= after
    assert run.outcome == "ok" and run.error is None
    assert run.result == f"hourly {tick.isoformat()} attempt=1 fence=1"
    assert run.context.late == 0 and run.context.attempt == 1


def test_an_explicit_tick_is_used_as_given_in_utc() -> None:
    run = run_once(clock, "hourly", tick=datetime(2026, 3, 29, 3, tzinfo=BERLIN))
    assert run.context.tick == datetime(2026, 3, 29, 1, tzinfo=UTC)
    assert run.context.tick.tzinfo is UTC
    assert run.result == "hourly 2026-03-29T01:00:00+00:00 attempt=1 fence=1"


def test_current_run_is_unset_again_after_the_job() -> None:
    run_once(clock, "hourly")
    with pytest.raises(RuntimeError, match="only available inside a lockclock job"):
        current_run()


def test_a_naive_tick_is_refused() -> None:
    with pytest.raises(ScheduleError, match="naive"):
        run_once(clock, "hourly", tick=datetime(2026, 3, 29, 3))


def test_an_unknown_schedule_names_the_known_ones() -> None:
    with pytest.raises(ScheduleError) as info:
        run_once(clock, "hourli")
    message = str(info.value)
    assert "no schedule named 'hourli'" in message
    assert "did you mean 'hourly'?" in message
    for name in ("async-job", "backfill", "broken", "hourly"):
        assert repr(name) in message


def test_an_async_job_runs_with_its_args_and_context() -> None:
    run = run_once(clock, "async-job", attempt=3)
    assert run.outcome == "ok" and run.result == 21
    assert run.context.attempt == 3 and run.context.fence == 3


def test_an_async_job_runs_from_inside_a_running_event_loop() -> None:
    async def an_async_test() -> int:
        result: int = run_once(clock, "async-job").result
        return result

    assert asyncio.run(an_async_test()) == 7


def test_each_runs_every_item_and_saves_the_cursor_after_each() -> None:
    run = run_once(clock, "backfill")
    assert run.outcome == "ok" and run.result == 5
    assert PROCESSED == ROWS
    assert run.saves == [1, 2, 3, 4, 5] and run.progress == 5


def test_a_stop_after_saves_interrupts_and_resume_continues_from_the_cursor() -> None:
    tick = datetime(2026, 3, 29, 1, tzinfo=UTC)
    first = run_once(clock, "backfill", tick=tick, stop_after_saves=2, stop_reason="SIGTERM")
    assert first.outcome == "interrupted" and first.error is None
    assert first.saves == [1, 2] and first.progress == 2
    assert first.context.control is not None
    assert first.context.control.stop_reason == "SIGTERM"
    assert PROCESSED == ["a", "b"]

    second = resume(first)
    assert second.outcome == "ok" and second.error is None
    assert second.context.tick == tick and second.context.attempt == 2
    assert second.context.fence == 2
    assert second.saves == [3, 4, 5]
    assert PROCESSED == ROWS  # c, d, e once each: nothing repeated, nothing skipped


def test_a_stop_before_any_save_processes_nothing() -> None:
    run = run_once(clock, "backfill", stop_after_saves=0)
    assert run.outcome == "interrupted" and run.saves == [] and run.progress is None
    assert PROCESSED == []


def test_a_starting_progress_is_resumed_from_as_json_gives_it_back() -> None:
    run = run_once(clock, "backfill", progress=3)
    assert PROCESSED == ["d", "e"] and run.saves == [4, 5]
    seen = run_once(clock, "hourly", progress=(1, {"k": 2}))
    assert seen.context.progress == [1, {"k": 2}]  # a tuple comes back as a list
    assert seen.progress == [1, {"k": 2}]


def test_a_starting_progress_that_is_not_json_is_refused() -> None:
    with pytest.raises(ValueError, match="progress must be JSON"):
        run_once(clock, "backfill", progress={1, 2})


def test_a_job_that_raises_is_reported_and_can_be_retried() -> None:
    run = run_once(clock, "broken")
    assert run.outcome == "error" and run.result is None
    assert isinstance(run.error, RuntimeError) and str(run.error) == "disk full"
    again = resume(run)
    assert again.outcome == "error" and again.context.attempt == 2


def test_non_json_progress_fails_as_the_real_save_does() -> None:
    run = run_once(clock, "bad-progress")
    assert run.outcome == "error" and run.saves == []
    assert isinstance(run.error, ValueError)
    assert "progress must be JSON" in str(run.error)


def test_progress_over_the_size_cap_fails_as_the_real_save_does() -> None:
    run = run_once(clock, "huge-progress")
    assert run.outcome == "error" and isinstance(run.error, ProgressTooLarge)
    assert run.saves == []


def test_interrupted_without_a_stop_asked_is_an_error_as_in_production() -> None:
    run = run_once(clock, "stops-unasked")
    assert run.outcome == "error" and isinstance(run.error, Interrupted)


def test_an_ok_run_cannot_be_resumed() -> None:
    run = run_once(clock, "hourly")
    with pytest.raises(ScheduleError, match="nothing to resume"):
        resume(run)


def test_slow_items_are_those_over_the_grace_period() -> None:
    run = run_once(clock, "slow", grace=0.01)
    assert len(run.slow_items) == len(ROWS)
    assert all(s > 0.01 for s in run.slow_items)
    assert run_once(clock, "slow", grace=60).slow_items == []


def test_next_ticks_across_the_spring_forward_in_berlin() -> None:
    ticks = next_ticks(
        clock, "berlin-nightly", after=datetime(2026, 3, 27, 12, tzinfo=UTC), count=4
    )
    assert ticks == [
        datetime(2026, 3, 28, 1, 30, tzinfo=UTC),  # 02:30 CET
        datetime(2026, 3, 29, 1, 0, tzinfo=UTC),  # 02:30 does not exist: runs at the jump, 03:00
        datetime(2026, 3, 30, 0, 30, tzinfo=UTC),  # 02:30 CEST
        datetime(2026, 3, 31, 0, 30, tzinfo=UTC),
    ]
    assert all(t.tzinfo is UTC for t in ticks)


def test_next_ticks_across_the_fall_back_in_berlin_runs_once() -> None:
    after = datetime(2026, 10, 24, 12, tzinfo=BERLIN)
    ticks = next_ticks(clock, "berlin-nightly", after=after, count=2)
    # 02:30 happens twice on the 25th: only the first (CEST) runs
    assert ticks == [
        datetime(2026, 10, 25, 0, 30, tzinfo=UTC),
        datetime(2026, 10, 26, 1, 30, tzinfo=UTC),
    ]


def test_next_ticks_are_strictly_after_and_default_to_now() -> None:
    tick = datetime(2026, 3, 28, 1, 30, tzinfo=UTC)
    assert next_ticks(clock, "berlin-nightly", after=tick, count=1) == [
        datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    ]
    now = datetime.now(UTC)
    upcoming = next_ticks(clock, "hourly")
    assert len(upcoming) == 10 and upcoming[0] > now - timedelta(seconds=1)
    assert all(b - a == timedelta(hours=1) for a, b in itertools.pairwise(upcoming))
    with pytest.raises(ScheduleError, match="naive"):
        next_ticks(clock, "hourly", after=datetime(2026, 3, 28))


def test_the_app_can_be_named_as_lockclock_run_names_it() -> None:
    run = run_once(f"{__name__}:clock", "hourly")
    assert run.outcome == "ok" and run.context.schedule == "hourly"
    import tests.apps.simple as simple  # module-level @schedule: the default clock

    assert run_once(simple, "quarter").outcome == "ok"
    with pytest.raises(JobImportError, match=r"not a lockclock\.Clock"):
        run_once(f"{__name__}:ROWS", "hourly")


def test_the_outcomes_are_run_history_statuses() -> None:
    assert set(get_args(TestOutcome)) == {"ok", "error", "interrupted"}
    assert set(get_args(TestOutcome)) <= set(get_args(RunStatus))

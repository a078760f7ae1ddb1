"""`current_run().each`, the iteration helper, over a stand-in control (pure: no Redis;
the real control's saves are tested in test_runs.py and with processes)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import pytest

from lockclock import Interrupted
from lockclock.context import RunContext


class StubControl:
    def __init__(self, progress: Any = None, stop_after: int | None = None) -> None:
        self._progress = progress
        self.saved: list[Any] = []
        self.stop_after = stop_after
        self.slow: list[float] = []

    @property
    def progress(self) -> Any:
        return self._progress

    def save_progress(self, value: Any) -> None:
        self.saved.append(value)
        self._progress = value

    @property
    def stop_reason(self) -> str | None:
        if self.stop_after is not None and len(self.saved) >= self.stop_after:
            return "shutdown"
        return None

    def slow_item(self, seconds: float) -> None:
        self.slow.append(seconds)


def run_with(control: StubControl) -> RunContext:
    tick = datetime(2026, 12, 1, tzinfo=timezone.utc)
    return RunContext(schedule="s", tick=tick, fence=1, clock_id="c", epoch=1, late=0,
                      control=control)  # fmt: skip


def rows(cursor: int | None) -> Iterator[tuple[str, int]]:
    for i in range(cursor or 0, 5):
        yield f"row{i}", i + 1


def test_each_resumes_from_the_saved_cursor_and_saves_after_each_item() -> None:
    control = StubControl(progress=2)
    seen = list(run_with(control).each(rows))
    assert seen == ["row2", "row3", "row4"]
    assert control.saved == [3, 4, 5]


def test_each_stops_cleanly_between_items_when_asked() -> None:
    control = StubControl(stop_after=2)
    seen = []
    with pytest.raises(Interrupted):
        for item in run_with(control).each(rows):
            seen.append(item)
    assert seen == ["row0", "row1"] and control.saved == [1, 2]  # the next resumes at 2


def test_an_item_that_raises_keeps_the_cursor_before_it() -> None:
    control = StubControl()
    with pytest.raises(RuntimeError):
        for item in run_with(control).each(rows):
            if item == "row3":
                raise RuntimeError("bad row")
    assert control.saved == [1, 2, 3]  # row3 is done again next time


def test_batched_saves_at_most_every_so_often() -> None:
    control = StubControl()
    list(run_with(control).each(rows, save_every_s=3600))
    assert control.saved == []  # nothing saved within the hour: a kill -9 repeats them
    assert len(control.slow) == 5  # each item's time is reported, to warn of slow ones


def test_a_stop_with_batched_saves_saves_the_cursor_first() -> None:
    control = StubControl()
    seen = []
    with pytest.raises(Interrupted):
        for item in run_with(control).each(rows, save_every_s=3600):
            seen.append(item)
            if item == "row2":
                control.stop_after = 0  # asked to stop while row2 is being worked on
    # row2 was finished: the stop saves the cursor after it, so nothing is done twice
    assert seen == ["row0", "row1", "row2"] and control.saved == [3]


def test_a_stop_before_the_first_item_saves_nothing() -> None:
    control = StubControl(progress=4, stop_after=0)
    with pytest.raises(Interrupted):
        list(run_with(control).each(rows, save_every_s=3600))
    assert control.saved == []

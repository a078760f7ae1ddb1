"""What a running job can learn about its own run, and do with it, via `current_run()`."""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Protocol, TypeVar

from .errors import Interrupted

T = TypeVar("T")
C = TypeVar("C")


class RunControl(Protocol):
    """What the executor running an attempt gives its job (execution/control.py)."""

    @property
    def progress(self) -> Any: ...

    def save_progress(self, value: Any) -> None: ...

    @property
    def stop_reason(self) -> str | None: ...

    def slow_item(self, seconds: float) -> None: ...


@dataclass(frozen=True, kw_only=True)
class RunContext:
    schedule: str
    tick: datetime  # the nominal fire instant, aware, UTC
    fence: int  # this attempt's token, above every earlier grant's: pass it to stores
    clock_id: str  # the clock that claimed the tick
    epoch: int  # that clock's lease epoch
    late: float  # seconds between the tick and the start of this attempt
    attempt: int = 1  # 1-based; above 1 after a worker died, a retry or a hand-back
    worker_id: str = ""  # who runs this attempt (an inline clock's own id)
    queue: str = "default"
    enqueued_at: datetime | None = None  # when this attempt went into its queue
    # what made the run: a tick, `lockclock trigger` (manual: `tick` is when it was
    # asked for), a resume's catch-up, or a backfill (`tick` is the tick it replays)
    trigger: str = "tick"
    key_ms: int | None = field(default=None, repr=False)  # the record's key, if not the tick
    control: RunControl | None = field(default=None, repr=False, compare=False)

    @property
    def tick_ms(self) -> int:
        """The run's key in its schedule's history: the tick in ms, except for a backfill
        run, which is keyed apart from the tick it replays."""
        return self.key_ms if self.key_ms is not None else int(self.tick.timestamp() * 1000)

    # -- long jobs: progress and a cooperative stop ------------------------------------

    @property
    def progress(self) -> Any:
        """The progress last saved by this run (any attempt), as JSON gave it back; None
        on a first attempt."""
        return self.control.progress if self.control is not None else None

    def save_progress(self, value: Any) -> None:
        """Store `value` (JSON) as this run's progress, under this attempt's fence: a
        later attempt starts from it. Raises Superseded, storing nothing, when a newer
        attempt owns the run, and ProgressTooLarge past the size limit."""
        if self.control is None:
            raise RuntimeError("save_progress() needs a run started by a lockclock executor")
        self.control.save_progress(value)

    @property
    def stop_requested(self) -> bool:
        """True once the run was asked to stop: its process got SIGTERM, its timeout
        passed, or an operator asked. Stop at the next safe point."""
        return self.control is not None and self.control.stop_reason is not None

    def raise_if_stopping(self) -> None:
        """Raise Interrupted if the run was asked to stop (see `stop_requested`)."""
        if self.control is not None and self.control.stop_reason is not None:
            raise Interrupted(self.control.stop_reason)

    def each(
        self,
        source: Callable[[C | None], Iterable[tuple[T, C]]],
        *,
        save_every_s: float = 0,
    ) -> Iterator[T]:
        """Iterate `source(cursor)` from the saved cursor (None at first), which yields
        (item, next_cursor) pairs; the cursor is saved after each item (or at most every
        `save_every_s`), and the run stops cleanly between items when asked to, saving
        the cursor first. With batched saves, a kill -9 repeats the items since the last
        save; a stop repeats none."""
        import time

        cursor: C | None = self.progress
        unsaved = False
        last_save = time.monotonic()
        for item, next_cursor in source(cursor):
            if self.stop_requested:
                if unsaved:
                    self.save_progress(cursor)
                self.raise_if_stopping()
            started = time.monotonic()
            yield item
            took = time.monotonic() - started
            if self.control is not None:
                self.control.slow_item(took)
            cursor = next_cursor
            unsaved = True
            if save_every_s <= 0 or time.monotonic() - last_save >= save_every_s:
                self.save_progress(cursor)
                unsaved = False
                last_save = time.monotonic()


def tick_datetime(tick_ms: int) -> datetime:
    return datetime.fromtimestamp(tick_ms / 1000, tz=timezone.utc)


_current: contextvars.ContextVar[RunContext] = contextvars.ContextVar("lockclock_run")


def current_run() -> RunContext:
    """The run being executed by this thread or task."""
    try:
        return _current.get()
    except LookupError:
        raise RuntimeError("current_run() is only available inside a lockclock job") from None


def set_current(ctx: RunContext) -> contextvars.Token[RunContext]:
    return _current.set(ctx)


def reset_current(token: contextvars.Token[RunContext]) -> None:
    _current.reset(token)

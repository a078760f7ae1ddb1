"""What a running job can learn about its own run, via `current_run()`."""

from __future__ import annotations

import contextvars
from dataclasses import dataclass
from datetime import datetime, timezone


@dataclass(frozen=True, kw_only=True)
class RunContext:
    schedule: str
    tick: datetime  # the nominal fire instant, aware, UTC
    fence: int  # strictly increasing token: pass it to stores that reject older writers
    clock_id: str
    epoch: int  # the lease epoch of the clock that dispatched the run
    late: float  # seconds between the tick and the start of the run

    @property
    def tick_ms(self) -> int:
        return int(self.tick.timestamp() * 1000)


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

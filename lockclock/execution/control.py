"""What a running attempt's job can do to its run: read and save its progress under
the attempt's fence, learn that it is asked to stop, and report an item too slow to
stop in time. One `AttemptControl` per attempt, given to its `current_run()`."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from ..context import RunContext
from ..coordination.failures import TRANSIENT_ERRORS
from ..coordination.runs import Runs
from ..errors import ProgressTooLarge, Superseded
from ..hooks import Hooks
from ..lifecycle import RunSlowItem
from ..logs import EventLog, iso_ms
from ..scheduling import Schedule

# Progress is kept in the run record: small state (a cursor, a count), not data.
PROGRESS_MAX_BYTES = 64 * 1024
# How long a save is retried while Redis does not answer.
SAVE_RETRY_S = 30.0


class AttemptControl:
    def __init__(
        self,
        *,
        runs: Runs,
        hooks: Hooks,
        schedule: Schedule,
        progress_json: str | None,
        grace_s: float,
    ) -> None:
        self.runs = runs
        self.hooks = hooks
        self.schedule = schedule
        self._progress = json.loads(progress_json) if progress_json else None
        self.grace_s = grace_s
        self._stop: str | None = None
        self._lock = threading.Lock()
        self._warned_slow = False
        self.context: RunContext | None = None  # set once the context is built

    @property
    def progress(self) -> Any:
        return self._progress

    def save_progress(self, value: Any) -> None:
        ctx = self.context
        assert ctx is not None
        try:
            text = json.dumps(value, allow_nan=False, separators=(",", ":"))
        except (TypeError, ValueError) as exc:
            raise ValueError(f"progress must be JSON ({exc}): save plain values") from None
        if len(text.encode()) > PROGRESS_MAX_BYTES:
            raise ProgressTooLarge(
                f"progress of {len(text.encode())} bytes is over {PROGRESS_MAX_BYTES}: save a "
                "cursor or a count, and keep the data itself in your own store"
            )
        result = self._store(ctx, text)
        if result == "fenced":
            raise Superseded(
                f"attempt {ctx.attempt} (fence {ctx.fence}) of {ctx.schedule} "
                f"{iso_ms(ctx.tick_ms)} no longer owns the run: a newer attempt does"
            )
        self._progress = value

    def _store(self, ctx: RunContext, text: str) -> str:
        """One script call, retried through a Redis outage of up to SAVE_RETRY_S (it is
        idempotent): a blip must not fail a job hours in. Past that the error is the
        job's; a run that long without Redis belongs to another attempt by then anyway."""
        delay = 0.1
        deadline = time.monotonic() + SAVE_RETRY_S
        while True:
            try:
                return self.runs.save_progress(
                    ctx.worker_id,
                    schedule=ctx.schedule,
                    tick_ms=ctx.tick_ms,
                    fence=ctx.fence,
                    value_json=text,
                    max_bytes=PROGRESS_MAX_BYTES,
                )
            except TRANSIENT_ERRORS:
                if time.monotonic() + delay >= deadline:
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 2.0)

    @property
    def stop_reason(self) -> str | None:
        return self._stop

    def request_stop(self, reason: str) -> None:
        """The first reason wins: a shutdown, a timeout, or "cancel: ..."."""
        with self._lock:
            if self._stop is None:
                self._stop = reason

    def slow_item(self, seconds: float) -> None:
        if seconds <= self.grace_s or self._warned_slow or self.context is None:
            return
        self._warned_slow = True
        ctx = self.context
        EventLog("lockclock.jobs").warning(
            "slow_item",
            schedule=ctx.schedule,
            tick=iso_ms(ctx.tick_ms),
            seconds=round(seconds, 1),
            grace_s=self.grace_s,
            note="one item took longer than the grace period: a restart cannot stop it in time",
        )
        self.hooks.run_slow_item(
            RunSlowItem(schedule=self.schedule, run=ctx, seconds=seconds, grace_s=self.grace_s)
        )

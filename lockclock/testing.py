"""Run one schedule's job in your own tests, with no clock process and no Redis.

    from lockclock.testing import next_ticks, resume, run_once

    run = run_once(clock, "nightly-report", tick=datetime(2026, 3, 29, 1, tzinfo=UTC))
    assert run.outcome == "ok"

The job runs as lockclock would run it: its own args and kwargs, `current_run()` set
to a real `RunContext`, and an in-memory control whose progress saves go through the
real validation (`AttemptControl.save_progress`: JSON only, the same size cap, the same
errors), so what passes here does not fail on its first real save. Tick math is the
schedule's own trigger, never a second cron implementation.
"""

from __future__ import annotations

import asyncio
import difflib
import json
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from types import ModuleType
from typing import TYPE_CHECKING, Any, Literal, cast

from .app import Clock
from .context import RunContext, reset_current, set_current, tick_datetime
from .errors import Interrupted, ProgressTooLarge, ScheduleError
from .execution.control import PROGRESS_MAX_BYTES, AttemptControl
from .hooks import Hooks
from .scheduling import Schedule

if TYPE_CHECKING:
    from .coordination.runs import Runs

__all__ = ["TestOutcome", "TestRun", "next_ticks", "resume", "run_once"]

# The names the run history uses for these ends (coordination/records.py RunStatus).
TestOutcome = Literal["ok", "error", "interrupted"]
# Who the context says claimed and runs the attempt: no real clock or worker did.
TEST_CLOCK_ID = "lockclock.testing"
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


@dataclass(frozen=True, kw_only=True)
class TestRun:
    """What one attempt did: how it ended, what it returned or raised, what it saved."""

    __test__ = False  # not a pytest test class, whatever its name

    outcome: TestOutcome
    result: Any  # the job's return value (lockclock itself ignores it)
    error: BaseException | None  # what the job raised, unless it stopped as asked
    saves: list[Any]  # each saved progress, as JSON gives it back to the next attempt
    progress: Any  # the last saved progress, else the one the attempt started from
    context: RunContext
    slow_items: list[float]  # seconds of each `each()` item that took longer than grace_s
    schedule: Schedule = field(repr=False)
    grace_s: float = field(repr=False)


class _MemoryControl(AttemptControl):
    """The real attempt control with its Redis write replaced by a list: saves are
    validated exactly as in production, and a stop is requested after N of them."""

    def __init__(
        self,
        *,
        schedule: Schedule,
        progress_json: str | None,
        grace_s: float,
        stop_after_saves: int | None,
        stop_reason: str,
    ) -> None:
        # `runs` is only used by `_store`, which is replaced below; no hooks are called.
        super().__init__(
            runs=cast("Runs", None),
            hooks=Hooks(),
            schedule=schedule,
            progress_json=progress_json,
            grace_s=grace_s,
        )
        self.saves: list[Any] = []
        self.slow_items: list[float] = []
        self._stop_after = stop_after_saves
        self._stop_text = stop_reason
        if stop_after_saves == 0:
            self.request_stop(stop_reason)

    def _store(self, ctx: RunContext, text: str) -> str:
        self.saves.append(json.loads(text))
        return "ok"

    def save_progress(self, value: Any) -> None:
        super().save_progress(value)
        if self._stop_after is not None and len(self.saves) >= self._stop_after:
            self.request_stop(self._stop_text)

    def slow_item(self, seconds: float) -> None:
        # Recorded rather than logged and sent to hooks; every slow item, not just the first.
        if seconds > self.grace_s:
            self.slow_items.append(seconds)


def run_once(
    app: Clock | ModuleType | str,
    name: str,
    *,
    tick: datetime | None = None,
    progress: Any = None,
    attempt: int = 1,
    stop_after_saves: int | None = None,
    stop_reason: str = "stop requested by the test",
    grace: float | None = None,
) -> TestRun:
    """Run schedule `name`'s job once, in this thread, and report how it ended.

    `app` is a Clock, or a module or "module:attr" found as `lockclock run` finds it.
    `tick` (aware) defaults to the schedule's latest tick at or before now. `progress`
    is what the attempt resumes from (as if an earlier attempt saved it). After
    `stop_after_saves` saves (0: from the start) the run is asked to stop with
    `stop_reason`, as a SIGTERM or timeout would. `grace` is the slow-item threshold in
    seconds; None uses the clock's grace setting. Never raises what the job raises:
    see `TestRun.error`.
    """
    clock = _clock(app)
    sched = _find(clock, name)
    grace_s = _settings_grace(clock) if grace is None else float(grace)
    when = _latest_tick(sched) if tick is None else _aware(tick, "tick")
    return _attempt(
        sched,
        tick=when,
        progress=progress,
        attempt=attempt,
        stop_after_saves=stop_after_saves,
        stop_reason=stop_reason,
        grace_s=grace_s,
    )


def resume(
    run: TestRun,
    *,
    stop_after_saves: int | None = None,
    stop_reason: str = "stop requested by the test",
    grace: float | None = None,
) -> TestRun:
    """The next attempt of the same run: same tick, attempt + 1, from its last saved
    progress, as lockclock starts one after a stop, a retry or a dead worker."""
    if run.outcome == "ok":
        raise ScheduleError(
            f"nothing to resume: attempt {run.context.attempt} of {run.context.schedule!r} "
            "ended ok, and lockclock never starts another attempt of a run that did"
        )
    return _attempt(
        run.schedule,
        tick=run.context.tick,
        progress=run.progress,
        attempt=run.context.attempt + 1,
        stop_after_saves=stop_after_saves,
        stop_reason=stop_reason,
        grace_s=run.grace_s if grace is None else float(grace),
    )


def next_ticks(
    app: Clock | ModuleType | str,
    name: str,
    *,
    after: datetime | None = None,
    count: int = 10,
) -> list[datetime]:
    """The schedule's next `count` ticks strictly after `after` (aware; default now), as
    aware UTC datetimes: the instants the clocks will fire, DST rule included."""
    sched = _find(_clock(app), name)
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise ScheduleError(f"invalid count {count!r}: use an integer >= 0")
    t_ms = _ms(datetime.now(timezone.utc) if after is None else _aware(after, "after"))
    ticks: list[datetime] = []
    for _ in range(count):
        t_ms = sched.next_after(t_ms)
        ticks.append(tick_datetime(t_ms))
    return ticks


# -- helpers ---------------------------------------------------------------------------


def _clock(app: Clock | ModuleType | str) -> Clock:
    """The Clock itself, or the one `lockclock run MODULE[:ATTR]` would run."""
    if isinstance(app, Clock):
        return app
    from .runtime.cli.base import load_clock  # the CLI's resolution, imported only if needed

    if isinstance(app, ModuleType):
        return load_clock(app.__name__)
    if isinstance(app, str):
        return load_clock(app)
    raise TypeError(
        f"app must be a lockclock.Clock, a module or 'module:attr', got {type(app).__name__}"
    )


def _find(clock: Clock, name: str) -> Schedule:
    by_name = {s.name: s for s in clock.schedules}
    sched = by_name.get(name)
    if sched is not None:
        return sched
    close = difflib.get_close_matches(str(name), list(by_name), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    known = ", ".join(repr(n) for n in sorted(by_name)) or "none"
    raise ScheduleError(f"no schedule named {name!r}{hint}; this clock has: {known}")


def _settings_grace(clock: Clock) -> float:
    """The grace period the clock would run with (Clock(grace=), LOCKCLOCK_GRACE, default)."""
    from .settings import resolve

    return resolve(clock.options).grace_s


def _aware(value: datetime, label: str) -> datetime:
    if not isinstance(value, datetime):
        raise ScheduleError(f"{label} must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ScheduleError(
            f"{label} {value.isoformat()} is naive: ticks are instants, so give a zone, e.g. "
            f"{label}=datetime(..., tzinfo=ZoneInfo('Europe/Berlin')) or timezone.utc"
        )
    return value.astimezone(timezone.utc)


def _ms(value: datetime) -> int:
    """Exact UTC epoch milliseconds (no float rounding)."""
    return (value - _EPOCH) // timedelta(milliseconds=1)


def _latest_tick(sched: Schedule) -> datetime:
    """The schedule's latest tick at or before now: strictly before now + 1 ms."""
    now_ms = _ms(datetime.now(timezone.utc))
    return tick_datetime(sched.trigger.prev_before(now_ms + 1))


def _progress_json(value: Any) -> str | None:
    """Encode a starting progress as the run record would hold it."""
    if value is None:
        return None
    try:
        text = json.dumps(value, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"progress must be JSON ({exc}): save plain values") from None
    if len(text.encode()) > PROGRESS_MAX_BYTES:
        raise ProgressTooLarge(
            f"progress of {len(text.encode())} bytes is over {PROGRESS_MAX_BYTES}: a real "
            "attempt could never have saved it"
        )
    return text


def _attempt(
    sched: Schedule,
    *,
    tick: datetime,
    progress: Any,
    attempt: int,
    stop_after_saves: int | None,
    stop_reason: str,
    grace_s: float,
) -> TestRun:
    if isinstance(attempt, bool) or not isinstance(attempt, int) or attempt < 1:
        raise ScheduleError(f"invalid attempt {attempt!r}: use an integer >= 1")
    if stop_after_saves is not None and (
        isinstance(stop_after_saves, bool)
        or not isinstance(stop_after_saves, int)
        or stop_after_saves < 0
    ):
        raise ScheduleError(
            f"invalid stop_after_saves {stop_after_saves!r}: use an integer >= 0 or None"
        )
    control = _MemoryControl(
        schedule=sched,
        progress_json=_progress_json(progress),
        grace_s=grace_s,
        stop_after_saves=stop_after_saves,
        stop_reason=stop_reason,
    )
    ctx = RunContext(
        schedule=sched.name,
        tick=tick,
        fence=attempt,  # a later attempt holds a higher fence, as in production
        clock_id=TEST_CLOCK_ID,
        epoch=1,
        late=0.0,
        attempt=attempt,
        worker_id=TEST_CLOCK_ID,
        queue=sched.queue,
        control=control,
    )
    control.context = ctx
    started = control.progress
    result: Any = None
    error: BaseException | None = None
    try:
        result = _call_async(sched, ctx) if sched.is_async else _call_sync(sched, ctx)
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # as in execution/job.py: a job's SystemExit is its failure
        error = exc
    outcome: TestOutcome = "ok"
    if error is not None:
        # As execution/job.py decides: stopping counts only once a stop was asked for.
        stopping = isinstance(error, (Interrupted, asyncio.CancelledError))
        if stopping and control.stop_reason is not None:
            outcome, error = "interrupted", None
        else:
            outcome = "error"
    return TestRun(
        outcome=outcome,
        result=result,
        error=error,
        saves=list(control.saves),
        progress=control.saves[-1] if control.saves else started,
        context=ctx,
        slow_items=list(control.slow_items),
        schedule=sched,
        grace_s=grace_s,
    )


def _call_sync(sched: Schedule, ctx: RunContext) -> Any:
    token = set_current(ctx)
    try:
        return sched.func(*sched.args, **sched.kwargs)
    finally:
        reset_current(token)


async def _run_async(sched: Schedule, ctx: RunContext) -> Any:
    set_current(ctx)  # this task's own context copy
    return await sched.func(*sched.args, **sched.kwargs)


def _call_async(sched: Schedule, ctx: RunContext) -> Any:
    """asyncio.run on a fresh loop; in a thread of its own when called from a running
    loop (an async test), where asyncio.run would refuse."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(_run_async(sched, ctx))
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["result"] = asyncio.run(_run_async(sched, ctx))
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=target, name=f"lockclock.testing:{sched.name}")
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box.get("result")

"""Hooks: how extensions (log lines, Sentry, metrics) follow the clock and its runs
without a branch in the loop, as dramatiq's middleware does.

A `Hook` overrides the methods it needs. `Hooks` fans each event out to every hook,
guarded: a hook that raises is logged (`hook_failed`) and the others, and the clock, go
on. Events from the loop thread (lease, dispatched, outage) must not block: a hook
queues its I/O (the Sentry SDK sends from its own thread). `run_started`,
`run_finished` and `run_interrupted` fire in the process and thread that runs the job.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from .lifecycle import (
    LeaseGained,
    LeaseLost,
    OutageFound,
    RunDispatched,
    RunFinished,
    RunHandedBack,
    RunInterrupted,
    RunLost,
    RunRedelivered,
    RunSkipped,
    RunSlowItem,
    RunStarted,
)
from .logs import EventLog


class Hook:
    """Base class: every method does nothing."""

    def lease_gained(self, event: LeaseGained) -> None:
        """This clock became the active one."""

    def lease_lost(self, event: LeaseLost) -> None:
        """This clock stopped being active without releasing (refused, or Redis gone)."""

    def run_dispatched(self, event: RunDispatched) -> None:
        """A tick was claimed and its run handed to an executor (loop thread)."""

    def run_started(self, event: RunStarted) -> None:
        """Just before the job's function, in the thread that runs it."""

    def run_finished(self, event: RunFinished) -> None:
        """The job returned or raised; called before the outcome is written."""

    def run_interrupted(self, event: RunInterrupted) -> None:
        """The job was still running when its process stopped."""

    def outage_found(self, event: OutageFound) -> None:
        """Ticks passed while no clock could fire them (once per schedule per outage)."""

    def run_skipped(self, event: RunSkipped) -> None:
        """A skip streak started (overlap): once per streak, on the loop thread."""

    def run_redelivered(self, event: RunRedelivered) -> None:
        """A dead worker's run went to another (reaper, on the active clock's loop)."""

    def run_lost(self, event: RunLost) -> None:
        """A run ended without an outcome (reaper, on the active clock's loop)."""

    def run_handed_back(self, event: RunHandedBack) -> None:
        """A stopping worker gave a run back, in the thread that ran it."""

    def run_slow_item(self, event: RunSlowItem) -> None:
        """An item of a long job took longer than the grace period (once per run)."""

    def shutdown_reserve_s(self, grace_s: float) -> float:
        """How much of the grace period to keep, at the end, for `flush`."""
        return 0.0

    def flush(self, timeout_s: float) -> None:
        """The process is stopping: send what is queued within `timeout_s`."""


class Hooks(Hook):
    """Every configured hook, called in order, each one guarded."""

    def __init__(self, hooks: Sequence[Hook] = ()) -> None:
        self.hooks = list(hooks)
        self._log = EventLog("lockclock.hooks")

    def _each(self, name: str, call: Callable[[Hook], None]) -> None:
        for hook in self.hooks:
            try:
                call(hook)
            except Exception as exc:
                self._log.warning(
                    "hook_failed",
                    hook=type(hook).__name__,
                    call=name,
                    error=f"{type(exc).__name__}: {exc}",
                )

    def lease_gained(self, event: LeaseGained) -> None:
        self._each("lease_gained", lambda h: h.lease_gained(event))

    def lease_lost(self, event: LeaseLost) -> None:
        self._each("lease_lost", lambda h: h.lease_lost(event))

    def run_dispatched(self, event: RunDispatched) -> None:
        self._each("run_dispatched", lambda h: h.run_dispatched(event))

    def run_started(self, event: RunStarted) -> None:
        self._each("run_started", lambda h: h.run_started(event))

    def run_finished(self, event: RunFinished) -> None:
        self._each("run_finished", lambda h: h.run_finished(event))

    def run_interrupted(self, event: RunInterrupted) -> None:
        self._each("run_interrupted", lambda h: h.run_interrupted(event))

    def outage_found(self, event: OutageFound) -> None:
        self._each("outage_found", lambda h: h.outage_found(event))

    def run_skipped(self, event: RunSkipped) -> None:
        self._each("run_skipped", lambda h: h.run_skipped(event))

    def run_redelivered(self, event: RunRedelivered) -> None:
        self._each("run_redelivered", lambda h: h.run_redelivered(event))

    def run_lost(self, event: RunLost) -> None:
        self._each("run_lost", lambda h: h.run_lost(event))

    def run_handed_back(self, event: RunHandedBack) -> None:
        self._each("run_handed_back", lambda h: h.run_handed_back(event))

    def run_slow_item(self, event: RunSlowItem) -> None:
        self._each("run_slow_item", lambda h: h.run_slow_item(event))

    def shutdown_reserve_s(self, grace_s: float) -> float:
        return max((h.shutdown_reserve_s(grace_s) for h in self.hooks), default=0.0)

    def flush(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        self._each("flush", lambda h: h.flush(max(0.0, deadline - time.monotonic())))

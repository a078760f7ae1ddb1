"""The executor seam: what the clock loop knows of running jobs. With workers the claim
script enqueues each run and the clock runs nothing. Inline, the claim script starts a
run that can start now, and the loop hands it to the executor; runs that start later
(waiting behind another, retried, handed back) come from the stream to the executor's
consumer, which reads only while this clock is active. The loop never records an
outcome."""

from __future__ import annotations

import threading
from typing import Protocol

from ..context import RunContext
from .recording import ClaimedRun
from .service import WorkerService


class Executor(Protocol):
    @property
    def worker_id(self) -> str:
        """The identity inline claims start runs as ('' when the clock runs nothing)."""

    def submit(self, run: ClaimedRun) -> None:
        """Run an attempt the claim itself started (inline); never blocks the loop."""

    def activate(self) -> None:
        """This clock holds the lease: take the runs it claims."""

    def deactivate(self) -> None:
        """This clock is no longer active: take no more."""

    def running(self) -> list[RunContext]:
        """Runs started here and not yet ended."""

    def stop(self, deadline: float, force: threading.Event) -> int:
        """Let running jobs end until the monotonic `deadline` (or until `force` is set),
        then deal with the rest; return how many were left."""


class InlineExecutor:
    """dispatch="inline": the active clock is its own (only) worker."""

    def __init__(self, service: WorkerService) -> None:
        self.service = service
        self._started = False

    @property
    def worker_id(self) -> str:
        return self.service.worker_id

    def submit(self, run: ClaimedRun) -> None:
        self.service.pool.submit(run)

    def activate(self) -> None:
        if not self._started:
            self.service.start(reading=True)
            self._started = True
        else:
            self.service.resume_reading()

    def deactivate(self) -> None:
        if self._started:
            self.service.pause_reading()

    def running(self) -> list[RunContext]:
        return self.service.running()

    def stop(self, deadline: float, force: threading.Event) -> int:
        return self.service.stop(deadline, force)


class QueueOnly:
    """dispatch="workers": the clock only enqueues; `lockclock worker` processes run."""

    worker_id = ""

    def submit(self, run: ClaimedRun) -> None:
        raise AssertionError("a workers-mode claim never starts a run in the clock")

    def activate(self) -> None:
        pass

    def deactivate(self) -> None:
        pass

    def running(self) -> list[RunContext]:
        return []

    def stop(self, deadline: float, force: threading.Event) -> int:
        return 0

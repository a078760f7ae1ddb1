"""The clock embedded in another process (a web app): its loop on a background thread.

`Clock.start()` returns at once; the process's signals and logging stay the host's.
`stop()` releases the lease first, so a standby in another process takes over at once,
then lets running inline jobs end within the timeout. N web processes that each start
the clock are one active clock and N-1 standbys: the lease makes it safe.

Across `fork` (gunicorn `--preload`, multiprocessing) a thread does not survive: a child
of a process whose clock was running starts its own, under a new clock id. At exit
(gunicorn recycling a worker, a reloader restarting) the clock is stopped gracefully.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import weakref
from typing import TYPE_CHECKING, Any

from ..logs import EventLog

if TYPE_CHECKING:
    from ..app import Clock
    from ..engine.loop import ClockLoop

DEFAULT_STOP_TIMEOUT_S = 25.0
_running: weakref.WeakSet[BackgroundClock] = weakref.WeakSet()
_log = logging.getLogger("lockclock.clock")


class BackgroundClock:
    """A handle on one embedded clock; `clock.start()` makes it."""

    def __init__(
        self, clock: Clock, overrides: dict[str, Any], *, follow_fork: bool = True
    ) -> None:
        self.clock = clock
        self.overrides = overrides
        self.follow_fork = follow_fork
        self.loop: ClockLoop | None = None
        self.error: BaseException | None = None
        self._thread: threading.Thread | None = None
        self._pid = 0

    @property
    def clock_id(self) -> str | None:
        return self.loop.clock_id if self.loop is not None else None

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive() and self._pid == os.getpid()

    @property
    def active(self) -> bool:
        """This process holds the lease now."""
        return self.alive and self.loop is not None and self.loop.leadership.active

    def start(self) -> BackgroundClock:
        from ..settings import resolve
        from .process import build_loop

        settings = resolve(self.overrides, self.clock.options)
        self.loop = build_loop(self.clock, settings)  # a bad setting raises here, at once
        self.error = None
        self._pid = os.getpid()
        self._thread = threading.Thread(
            target=self._run, name=f"lockclock {self.loop.clock_id}", daemon=True
        )
        self._thread.start()
        _running.add(self)
        return self

    def _run(self) -> None:
        assert self.loop is not None
        try:
            self.loop.run()
        except BaseException as exc:  # the host must not die of it; it can read .error
            self.error = exc
            EventLog(_log, clock=self.loop.clock_id).error(
                "clock_stopped", error=f"{type(exc).__name__}: {exc}"
            )

    def stop(self, timeout: float | None = None) -> bool:
        """Release the lease, let running jobs end within `timeout` (default: the grace
        period), then return; True if the clock had stopped by then."""
        if self.loop is None or self._thread is None or self._pid != os.getpid():
            return True
        limit = DEFAULT_STOP_TIMEOUT_S if timeout is None else timeout
        self.loop.stop()
        self._thread.join(limit)
        if self._thread.is_alive():
            self.loop.stop()  # a second request: stop waiting for jobs
            self._thread.join(2.0)
        _running.discard(self)
        return not self._thread.is_alive()

    def _after_fork_in_child(self) -> None:
        """A thread does not survive fork: the child starts its own clock, with a new id
        and new connections."""
        if not self.follow_fork:
            self._thread = None
            return
        if self._pid and self._pid != os.getpid() and self._thread is not None:
            self._thread = None
            self.start()


def _stop_all_at_exit() -> None:
    for handle in list(_running):
        if handle.alive:
            handle.stop(timeout=min(DEFAULT_STOP_TIMEOUT_S, 10.0))


def _restart_in_child() -> None:
    for handle in list(_running):
        handle._after_fork_in_child()


atexit.register(_stop_all_at_exit)
os.register_at_fork(after_in_child=_restart_in_child)

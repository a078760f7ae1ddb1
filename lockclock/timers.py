"""One timer thread for a process's deadlines (Sentry's overruns and deferred late
starts, runs' timeouts), so the tick path pays a heap push, never a thread."""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Callable

from .logs import EventLog


class Timers:
    def __init__(self, name: str = "lockclock-timers") -> None:
        self._name = name
        self._cond = threading.Condition()
        # (when, order, what to do, still wanted?)
        self._heap: list[tuple[float, int, Callable[[], None], Callable[[], bool]]] = []
        self._seq = itertools.count()
        self._thread: threading.Thread | None = None
        self._sweep_at = 64

    def after(
        self, delay_s: float, fn: Callable[[], None], wanted: Callable[[], bool] = lambda: True
    ) -> None:
        """Call fn on the timer thread in delay_s, if `wanted()` still says so then;
        entries no longer wanted are swept as the heap grows."""
        with self._cond:
            if len(self._heap) > self._sweep_at:
                self._heap = [t for t in self._heap if t[3]()]
                heapq.heapify(self._heap)
                self._sweep_at = 2 * len(self._heap) + 64
            timer = (time.monotonic() + delay_s, next(self._seq), fn, wanted)
            heapq.heappush(self._heap, timer)
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name=self._name, daemon=True)
                self._thread.start()
            if self._heap[0] is timer:  # else it sleeps until an earlier one anyway
                self._cond.notify()

    def _loop(self) -> None:
        while True:
            with self._cond:
                while True:
                    if not self._heap:
                        self._cond.wait()
                        continue
                    wait = self._heap[0][0] - time.monotonic()
                    if wait <= 0:
                        _, _, fn, wanted = heapq.heappop(self._heap)
                        break
                    self._cond.wait(wait)
            try:
                if wanted():
                    fn()
            except Exception as exc:  # a deadline's action that fails is logged, never fatal
                EventLog("lockclock.timers").warning(
                    "hook_failed", hook=getattr(fn, "__name__", "timer"), error=str(exc)
                )

"""A worker's lease on itself: registered with its queues, renewed from a thread of its
own every third of the lease, whatever its jobs are doing. A lease that lapsed while
Redis was out of reach (or the process paused) is renewed if the reaper has not touched
it yet. When a renewal is refused, its runs are being handed to others: its jobs are
asked to stop, it comes back under a new id, and nothing its old attempts write is
accepted."""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import replace

from ..coordination.failures import TRANSIENT_ERRORS
from ..coordination.workers import WorkerInfo, WorkerRegistry
from ..logs import EventLog
from ..version import __version__


class WorkerLease:
    def __init__(
        self,
        *,
        registry: WorkerRegistry,
        base_id: str,
        queues: Sequence[str],
        ttl_s: float,
        kind: str,
        concurrency: int | None,
        running: Callable[[], int],
        on_beat: Callable[[], None] = lambda: None,
        on_lost: Callable[[str], None] = lambda old_id: None,
    ) -> None:
        self.registry = registry
        self.base_id = base_id
        self.queues = list(queues)
        self.ttl_ms = int(ttl_s * 1000)
        self.kind = kind
        self.concurrency = concurrency
        self._running = running
        self._on_beat = on_beat
        self._on_lost = on_lost
        self._generation = 0
        self.worker_id = base_id
        self.started_ms = int(time.time() * 1000)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._valid_until = 0.0  # monotonic: our lease cannot have lapsed before this
        self._log = EventLog("lockclock.worker", worker=base_id)

    def _info(self) -> WorkerInfo:
        return WorkerInfo(
            id=self.worker_id,
            host=socket.gethostname(),
            dyno=os.environ.get("DYNO"),
            pid=os.getpid(),
            queues=self.queues,
            concurrency=self.concurrency,
            running=self._running(),
            started_ms=self.started_ms,
            kind=self.kind,
            version=__version__,
        )

    @property
    def valid(self) -> bool:
        """Our lease is certainly unexpired now (by our own clock, conservatively)."""
        return time.monotonic() < self._valid_until

    def register(self) -> None:
        sent = time.monotonic()
        self.registry.beat(self._info(), self.ttl_ms, register=True)
        self._valid_until = sent + self.ttl_ms / 1000

    def start(self) -> None:
        self.register()
        self._thread = threading.Thread(target=self._beat_loop, name="lockclock-lease", daemon=True)
        self._thread.start()

    def _beat_loop(self) -> None:
        unreachable = False
        while not self._stop.wait(self.ttl_ms / 3000):
            try:
                sent = time.monotonic()
                ok, _ = self.registry.beat(self._info(), self.ttl_ms)
                unreachable = False
                if ok:
                    self._valid_until = sent + self.ttl_ms / 1000
                    self._on_beat()
                    continue
                self._come_back()
            except TRANSIENT_ERRORS as exc:
                if not unreachable:  # once per outage, not once a beat
                    self._log.warning("redis_unavailable", error=f"{type(exc).__name__}: {exc}")
                unreachable = True
            except Exception as exc:  # never let the heartbeat thread die silently
                self._log.error("worker_lease_lost", error=f"{type(exc).__name__}: {exc}")

    def _come_back(self) -> None:
        """The reaper took our lapsed lease: what we held is going to others. Our jobs
        stop at their next checkpoint (their saves are refused by then anyway), and we
        register under a new id."""
        with self._lock:
            old = self.worker_id
            self._generation += 1
            self.worker_id = f"{self.base_id}.{self._generation}"
        self._log.warning(
            "worker_lease_lost",
            old=old,
            new=self.worker_id,
            note="our lease lapsed (paused, or Redis lost it): runs we held go to others",
        )
        self._on_lost(old)
        self.register()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)

    def deregister(self) -> None:
        with contextlib.suppress(*TRANSIENT_ERRORS):
            held = self.registry.deregister(self.worker_id, self.queues)
            if held:
                self._log.warning(
                    "runs_left_to_reaper",
                    id=self.worker_id,
                    held=held,
                    note="Redis says this worker holds runs it does not run (lost "
                    "writes): the active clock hands them on",
                )

    def info_now(self) -> WorkerInfo:
        return replace(self._info())

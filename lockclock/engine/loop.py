"""The clock loop, top to bottom: standby until the lease is ours, then fire due ticks.

Safety and liveness are split on purpose:

* Safety (never two dispatches of a tick) comes only from the claim script (see
  `coordination/claims.py`). Nothing here has to be right for that to hold.
* Liveness (every tick dispatched, soon) comes from the lease (`leadership.py`): one
  active clock renews it from this loop; standbys block on the release signal.

Each step is a standby step or an active step; the loop never sleeps past a due tick or
a renewal, never runs a job and never records an outcome: the claim script enqueues
each run, and an executor (the clock's own worker, inline) or `lockclock worker`
processes run them. After each renewal the reaper hands dead workers' runs on.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Mapping, Sequence
from types import FrameType

import redis

from ..coordination.failures import AUTH_ERRORS, TRANSIENT_ERRORS, auth_message
from ..coordination.store import Store
from ..errors import RedisAuthError
from ..execution.executor import Executor, InlineExecutor, QueueOnly
from ..execution.service import WorkerService
from ..hooks import Hooks
from ..logs import EventLog
from ..scheduling import Schedule
from ..settings import Settings
from ..version import __version__
from .dispatch import Dispatcher
from .leadership import Leadership, new_clock_id
from .reaper import Reaper
from .requests import RequestRunner
from .upgrades import check_six_field_readings

PAUSE_CHECK_S = 5.0  # how often the active clock looks for pauses that ran out


class ClockLoop:
    """One clock. `run()` returns when a stop signal has been handled."""

    def __init__(
        self,
        *,
        schedules: Sequence[Schedule],
        store: Store,
        blocking: redis.Redis,
        settings: Settings,
        hooks: Hooks | None = None,
        executor: Executor | None = None,
        clock_id: str | None = None,
        monitors: Mapping[str, str] | None = None,
    ) -> None:
        """`monitors`: each schedule's Sentry monitor slug, published for `pause`."""
        self.settings = settings
        self.store = store
        self.hooks = hooks or Hooks()
        self.clock_id = clock_id or new_clock_id()
        self.leadership = Leadership(
            store=store,
            blocking=blocking,
            settings=settings,
            clock_id=self.clock_id,
            hooks=self.hooks,
            schedules=len(schedules),
        )
        by_name = {s.name: s for s in schedules}
        self.executor = executor or self._default_executor(by_name, blocking)
        self.dispatcher = Dispatcher(
            schedules=by_name,
            store=store,
            settings=settings,
            leadership=self.leadership,
            hooks=self.hooks,
            executor=self.executor,
            monitors=monitors,
        )
        self.reaper = Reaper(
            store=store,
            leadership=self.leadership,
            hooks=self.hooks,
            worker_lease_s=settings.worker_lease_s,
        )
        self.requests = RequestRunner(
            store=store, schedules=by_name, leadership=self.leadership, dispatcher=self.dispatcher
        )
        self._pauses_checked = 0.0
        self._stop = threading.Event()
        self._force = threading.Event()
        self._stop_at = 0.0
        self._backoff = 0.0
        self._upgrade_checked = False
        self._claims_held = False  # just took over, with lapsed workers undecided
        self._hold_claims_until = 0.0
        self._log = EventLog("lockclock.clock", clock=self.clock_id)

    def _default_executor(self, schedules: dict[str, Schedule], blocking: redis.Redis) -> Executor:
        if self.settings.dispatch == "workers":
            return QueueOnly()
        return InlineExecutor(
            WorkerService(
                store=self.store,
                blocking=blocking,
                hooks=self.hooks,
                schedules=schedules,
                queues=sorted({s.queue for s in schedules.values()}),
                worker_id=self.clock_id,
                kind="clock",
                concurrency=None,
                lease_ttl_s=self.settings.worker_lease_s,
                now_ms=self.leadership.time.now_ms,
                at_deadline="interrupt",
                ontime_ms=3 * self.leadership.ttl_ms,
                grace_s=self.settings.grace_s,
                wait_replicas=self.settings.wait_replicas,
            )
        )

    # -- signals ----------------------------------------------------------------------------

    def on_signal(self, signum: int, frame: FrameType | None) -> None:
        """SIGTERM or SIGINT: stop claiming and shut down; a second one: do not wait."""
        self._on_signal(signum, frame)

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        if self._stop.is_set():
            self._force.set()
            return
        self._stop_at = time.monotonic()
        self._stop.set()

    def stop(self) -> None:
        self._on_signal(signal.SIGTERM, None)

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    # -- the loop ---------------------------------------------------------------------------

    def run(self) -> int:
        self._log.info(
            "clock_started",
            schedules=len(self.dispatcher.schedules),
            namespace=self.settings.namespace,
            lease_ttl_s=self.settings.lease_ttl_s,
            version=__version__,
        )
        while not self._stop.is_set():
            self.step()
        return self._shutdown()

    def step(self) -> None:
        """One standby or active step; Redis trouble costs a backoff, never the process."""
        try:
            if not self._upgrade_checked:
                check_six_field_readings(self.store, self.dispatcher.schedules.values())
                self._upgrade_checked = True
            if self.leadership.active:
                self._active_step()
            else:
                self._standby_step()
            if self._backoff:
                self._log.info("redis_available")
            self._backoff = 0.0
        except AUTH_ERRORS as exc:
            raise RedisAuthError(auth_message(exc)) from None
        except TRANSIENT_ERRORS as exc:
            self._redis_down(exc)

    def _standby_step(self) -> None:
        activation = self.leadership.standby_step(self._stop)
        if activation is not None and self.dispatcher.activate(activation):
            self.executor.activate()  # before the first claim: inline claims start runs
            # before it too: a dead holder's runs end (lost, or handed on) first, so that
            # the claim's overlap rule is not decided by a run nobody is running
            self._reap(at_once=True)
            self._claims_held = self.reaper.undecided
            # bounded, whatever Redis notes: a worker lease, and a reaper pass
            self._hold_claims_until = time.monotonic() + self.settings.worker_lease_s + 1.0
            if self._claims_held:
                # Redis was out of everyone's reach, or everyone was gone: a lapsed
                # worker may be alive or dead, and its runs decide what overlaps
                self._log.info("claims_held", until="the lapsed workers beat or are reaped")

    def _active_step(self) -> None:
        renewed = self.leadership.renewal_due()
        if renewed and not self.leadership.renew():
            self._step_down()
            return
        if renewed:
            self._reap()
            self._claims_held = (
                self._claims_held
                and self.reaper.undecided
                and time.monotonic() < self._hold_claims_until
            )
            if not self._operators_step():
                self._step_down()
                return
        wait_s = self.leadership.next_renew - time.monotonic()
        if self._claims_held:  # see _standby_step: a worker lease at most, then catch-up
            self._stop.wait(max(wait_s, 0.0))
            return
        if not self.dispatcher.fire_due(self.leadership.time.now_ms()):
            self._step_down()
            return
        due_ms = self.dispatcher.next_due_ms()
        if due_ms is not None:
            wait_s = min(wait_s, (due_ms - self.leadership.time.now_ms()) / 1000)
        if wait_s > 0:
            self._stop.wait(wait_s)

    def _reap(self, *, at_once: bool = False) -> None:
        try:
            self.reaper.step(at_once=at_once)
        except redis.ResponseError as exc:  # caretaking must never stop the claims
            self._log.warning("reaper_failed", error=f"{type(exc).__name__}: {exc}")

    def _operators_step(self) -> bool:
        """Operators' requests (trigger, resume), and pauses that ran out every few
        seconds; False if the lease was lost meanwhile."""
        try:
            if time.monotonic() - self._pauses_checked > PAUSE_CHECK_S:
                self._pauses_checked = time.monotonic()
                self.requests.end_expired_pauses(self.leadership.time.now_ms())
            return self.requests.step()
        except redis.ResponseError as exc:
            self._log.warning("requests_failed", error=f"{type(exc).__name__}: {exc}")
            return True

    def _step_down(self) -> None:
        self.dispatcher.clear()
        self.executor.deactivate()

    def _redis_down(self, exc: Exception) -> None:
        self.leadership.redis_down()
        self._step_down()
        self._backoff = min(max(self._backoff * 2, 0.25), 5.0)
        self._log.warning(
            "redis_unavailable", error=f"{type(exc).__name__}: {exc}", retry_in_s=self._backoff
        )
        self._stop.wait(self._backoff)

    # -- shutdown ---------------------------------------------------------------------------

    def _shutdown(self) -> int:
        self.leadership.release()
        self.dispatcher.clear()
        deadline = (self._stop_at or time.monotonic()) + self.settings.grace_s
        # the hooks' reserve (Sentry: the last tenth, at most 1 s) is for sending what the
        # runs reported, the interrupted ones' check-ins included
        reserve_s = self.hooks.shutdown_reserve_s(self.settings.grace_s)
        interrupted = self.executor.stop(deadline - reserve_s, self._force)
        with contextlib.suppress(*TRANSIENT_ERRORS):
            self.store.clocks.forget(self.clock_id)
        if not self._force.is_set():
            self.hooks.flush(deadline - time.monotonic())  # never past the grace period
        self._log.info("clock_stopped", interrupted=interrupted)
        return 0

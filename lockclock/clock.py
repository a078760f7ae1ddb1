"""The clock loop: standby until the lease is ours, then fire due ticks.

Safety and liveness are split on purpose:

* Safety (never two dispatches of a tick) comes only from `Store.claim_many`, one
  atomic script per schedule that checks the lease epoch, Redis time and the
  high-water mark. Nothing here has to be right for that to hold.
* Liveness (every tick dispatched, soon) comes from the lease: one active clock
  renews it from this loop; standbys block on the release signal and take over
  when it is released or lapses.

The loop never sleeps past a due tick or a renewal, and all time is Redis time
(estimated locally between round trips, checked by the scripts).
"""

from __future__ import annotations

import contextlib
import heapq
import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import FrameType
from typing import TYPE_CHECKING, Any

import redis

from . import __version__
from .catchup import plan_due
from .context import RunContext, tick_datetime
from .errors import RedisAuthError
from .logfmt import event
from .recovery import Recovery
from .schedule import Schedule
from .settings import Settings
from .store import Acquired, Registered, Store
from .worker import Outcome, Worker

if TYPE_CHECKING:
    from .alerts import Alerts

log = logging.getLogger("lockclock.clock")

AUTH_ERRORS: tuple[type[Exception], ...] = (
    redis.AuthenticationError,
    redis.exceptions.NoPermissionError,
    redis.exceptions.AuthenticationWrongNumberOfArgsError,
)
TRANSIENT_ERRORS: tuple[type[Exception], ...] = (redis.ConnectionError, redis.TimeoutError)


def auth_message(exc: Exception) -> str:
    """A fixable one-line message for credentials or ACL permissions Redis refused."""
    if isinstance(exc, redis.exceptions.NoPermissionError):
        return (
            f"the Redis ACL user in REDIS_URL lacks a permission lockclock needs ({exc}): "
            "allow +@read +@write +@scripting +@list +@hash +@sortedset +@string +@keyspace "
            "(+wait with LOCKCLOCK_WAIT_REPLICAS) and the namespace's keys"
        )
    return f"Redis refused our credentials ({exc}): check the password or ACL user in REDIS_URL"


# Per schedule, at most this many past ticks are enumerated (and recorded) at once.
CATCHUP_SCAN_LIMIT = 1000


def tick_iso(tick_ms: int) -> str:
    return tick_datetime(tick_ms).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_clock_id() -> str:
    dyno = os.environ.get("DYNO") or socket.gethostname()
    return f"{dyno}:{os.getpid()}:{os.urandom(2).hex()}"


class ServerTime:
    """Redis server time estimated from the local monotonic clock.

    Every script answers with Redis `TIME`; each answer re-anchors the estimate at the
    midpoint of its round trip, so a host whose wall clock is skewed is not.
    """

    def __init__(self) -> None:
        self._offset_ms: float | None = None
        self._sampled_at = 0.0

    def observe(self, server_ms: int, sent: float, received: float) -> None:
        rtt = received - sent
        if self._offset_ms is not None and rtt > 0.05 and received - self._sampled_at < 5:
            return  # a slow round trip is a poor sample; keep the recent good one
        self._offset_ms = server_ms - (sent + received) / 2 * 1000
        self._sampled_at = received

    def now_ms(self) -> int:
        if self._offset_ms is None:
            return int(time.time() * 1000)
        return int(time.monotonic() * 1000 + self._offset_ms)


@dataclass
class Floors:
    """The highest epoch, fence and tick per schedule this clock has seen in Redis.

    Passed to every script that assigns them, so a Redis that lost its latest writes
    (AOF everysec crash, failover to a lagging replica, flushed data) cannot hand out an
    epoch or fence again, or let this clock claim a tick it already saw claimed.
    """

    epoch: int = 0
    fence: int = 0
    ticks: dict[str, int] = field(default_factory=dict)

    def saw_tick(self, schedule: str, tick_ms: int, fence: int = 0) -> None:
        if tick_ms > self.ticks.get(schedule, 0):
            self.ticks[schedule] = tick_ms
        self.fence = max(self.fence, fence)


class ClockLoop:
    """One clock process. `run()` returns when a stop signal has been handled."""

    def __init__(
        self,
        *,
        schedules: Sequence[Schedule],
        store: Store,
        blocking: redis.Redis,
        settings: Settings,
        clock_id: str | None = None,
        alerts: Alerts | None = None,
    ) -> None:
        self.schedules = {s.name: s for s in schedules}
        self.store = store
        self.blocking = blocking
        self.settings = settings
        self._ttl_ms = int(settings.lease_ttl_s * 1000)
        self._renew_every_s = settings.lease_ttl_s / 4
        # ticks younger than three leases are ordinary lag (loop, failover) and always run
        self._ontime_ms = 3 * self._ttl_ms
        self.clock_id = clock_id or new_clock_id()
        self.alerts = alerts  # Sentry reports, when configured (sentry_setup.py)
        self.time = ServerTime()
        self.worker = Worker(
            on_done=self._record_outcome,
            now_ms=self.time.now_ms,
            on_start=alerts.started if alerts is not None else None,
        )
        self.epoch: int | None = None
        self.started_ms = int(time.time() * 1000)
        self._heap: list[tuple[int, str]] = []
        self._stop = threading.Event()
        self._force = threading.Event()
        self._stop_at = 0.0
        self._next_renew = 0.0
        self._next_heartbeat = 0.0
        self._backoff = 0.0
        self._prev_lease: dict[str, Any] = {}
        self.floors = Floors()
        self.recovery = Recovery(self.clock_id)  # after Redis lost writes: see recovery.py
        self._hold_until = 0.0
        self._lease_until = 0.0  # monotonic: our lease cannot have lapsed before this
        self._doubt_until_ms = 0  # this activation's doubt horizon (0: none)

    # -- signals ---------------------------------------------------------------------------

    def install_signal_handlers(self) -> None:
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        if self._stop.is_set():
            self._force.set()
            return
        self._stop_at = time.monotonic()
        self._stop.set()

    def stop(self) -> None:
        self._on_signal(signal.SIGTERM, None)

    # -- main loop -------------------------------------------------------------------------

    def run(self) -> int:
        event(
            log,
            "clock_started",
            clock=self.clock_id,
            schedules=len(self.schedules),
            namespace=self.settings.namespace,
            lease_ttl_s=self.settings.lease_ttl_s,
            version=__version__,
        )
        while not self._stop.is_set():
            try:
                if self.epoch is None:
                    self._standby_step()
                else:
                    self._active_step()
                if self._backoff:
                    event(log, "redis_available", clock=self.clock_id)
                self._backoff = 0.0
            except AUTH_ERRORS as exc:
                raise RedisAuthError(auth_message(exc)) from None
            except TRANSIENT_ERRORS as exc:
                self._redis_down(exc)
        return self._shutdown()

    def _redis_down(self, exc: Exception) -> None:
        if self.epoch is not None:
            self.recovery.left_active(lease_still_ours=self._lease_still_ours())
            event(
                log,
                "lease_unknown",
                level=logging.WARNING,
                clock=self.clock_id,
                epoch=self.epoch,
                reason="redis unavailable",
            )
        self.epoch = None
        self._heap.clear()
        self._next_heartbeat = 0.0  # on reconnecting, check first whether Redis changed
        self._backoff = min(max(self._backoff * 2, 0.25), 5.0)
        event(
            log,
            "redis_unavailable",
            level=logging.WARNING,
            clock=self.clock_id,
            error=f"{type(exc).__name__}: {exc}",
            retry_in_s=self._backoff,
        )
        self._stop.wait(self._backoff)

    # -- standby ---------------------------------------------------------------------------

    def _heartbeat_info(self, role: str) -> dict[str, Any]:
        return {
            "id": self.clock_id,
            "host": socket.gethostname(),
            "dyno": os.environ.get("DYNO"),
            "pid": os.getpid(),
            "role": role,
            "epoch": self.epoch,
            "started_ms": self.started_ms,
            "heartbeat_ms": self.time.now_ms(),
            # heartbeats come every second; past this, the clock is gone
            "stale_after_ms": 3000 + 2 * self._ttl_ms,
            "schedules": len(self.schedules),
            "version": __version__,
        }

    def _maybe_heartbeat(self, role: str) -> None:
        now = time.monotonic()
        if now >= self._next_heartbeat:
            self._heartbeat(role)

    def _heartbeat(self, role: str) -> None:
        # The active clock needs no identity check: its floors go with every claim.
        # Standbys (and a clock about to register) must know whether to hold off.
        info = self._heartbeat_info(role)
        self._next_heartbeat = time.monotonic() + 1.0
        if role != "standby":
            self.store.heartbeat(self.clock_id, info)
            return
        previous = self.recovery.server
        server = self.store.heartbeat_and_identify(self.clock_id, info)
        if not self.recovery.observe(server, self.time.now_ms()):
            return
        # Redis restarted or failed over, and may have lost its latest writes. Whoever was
        # active until Redis went away knows the most (its floors): the others hold off
        # for one lease so that clock can take the lease back and restore marks and
        # counters.
        hold_s = 0.0 if self.recovery.knows_all else self.settings.lease_ttl_s
        self._hold_until = time.monotonic() + hold_s
        event(
            log,
            "redis_server_changed",
            level=logging.WARNING,
            clock=self.clock_id,
            server=server.id,
            previous=previous.id if previous else None,
            hold_s=hold_s,
        )

    def _standby_step(self) -> None:
        self._maybe_heartbeat("standby")
        if time.monotonic() < self._hold_until:
            self._stop.wait(min(self._hold_until - time.monotonic(), 0.5))
            return
        sent = time.monotonic()
        res = self.store.acquire(self.clock_id, self._ttl_ms, epoch_floor=self.floors.epoch)
        self.time.observe(res.now_ms, sent, time.monotonic())
        if isinstance(res, Acquired):
            self._become_active(res, sent)
            return
        self.recovery.saw_other_holder()
        pttl_s = res.pttl_ms / 1000 if res.pttl_ms > 0 else 0.05
        if self.store.wait_for_release(self.blocking, min(pttl_s, 0.5)):
            event(log, "lease_release_seen", clock=self.clock_id, holder=res.holder)

    def _become_active(self, acq: Acquired, sent: float) -> None:
        self.floors.epoch = max(self.floors.epoch, acq.epoch)
        # A restart since our last look would not have raised an error: look again before
        # relying on the marks, and give the lease back if we must hold off.
        self._heartbeat("standby")
        if time.monotonic() < self._hold_until:
            self.store.release(self.clock_id, acq.epoch)
            return
        self.epoch = acq.epoch
        self._doubt_until_ms = self.recovery.doubt_until(acq)
        self.recovery.took_over(acq)
        self._lease_until = sent + self.settings.lease_ttl_s
        self._next_renew = sent + self._renew_every_s
        self._prev_lease = {
            "clock": acq.prev_clock,
            "epoch": acq.prev_epoch,
            "last_renewed_ms": acq.prev_renewed_ms,
            "lapsed_ms": acq.prev_released_ms or acq.prev_expires_ms,
            "released": bool(acq.prev_released_ms),
        }
        event(
            log,
            "lease_acquired",
            clock=self.clock_id,
            epoch=acq.epoch,
            prev_clock=acq.prev_clock or None,
            prev_lapsed=tick_iso(self._prev_lease["lapsed_ms"]) if acq.prev_clock else None,
            how="released" if acq.prev_released_ms else ("expired" if acq.prev_clock else "new"),
        )
        reg = self.store.register(
            self.clock_id,
            acq.epoch,
            [(s.name, s.enabled) for s in self.schedules.values()],
            fence_floor=self.floors.fence,
            tick_floors=self.floors.ticks,
        )
        if reg is None:
            self._lost("stale at registration")
            return
        for name, mark in reg.marks.items():
            self.floors.saw_tick(name, mark)
        if self._doubt_until_ms:
            self._step_over_lost_fences(reg)
        self._heap = [
            (s.next_after(reg.marks[s.name]), s.name) for s in self.schedules.values() if s.enabled
        ]
        heapq.heapify(self._heap)
        self.store.publish_schedules(
            {
                s.name: {
                    "trigger": s.describe(),
                    "enabled": s.enabled,
                    "catchup": s.catchup,
                    "tz": str(s.tz),
                    "published_by": self.clock_id,
                }
                for s in self.schedules.values()
            },
            next_ticks={name: tick for tick, name in self._heap},
        )
        self.store.prune_clocks(reg.now_ms)
        self._heartbeat("active")

    def _step_over_lost_fences(self, reg: Registered) -> None:
        """Claims Redis forgot took fences it no longer counts. Each went to a tick above
        its schedule's kept mark and not after the doubt horizon, so no more fences than
        such ticks were handed out: ours start above them, and keep rising."""
        ticks = 0
        for s in self.schedules.values():
            found, truncated = s.ticks_between(
                reg.marks[s.name], self._doubt_until_ms, limit=CATCHUP_SCAN_LIMIT
            )
            ticks += len(found) + (CATCHUP_SCAN_LIMIT if truncated else 0)
        self.floors.fence = max(self.floors.fence, reg.fence + ticks)
        event(
            log,
            "ticks_in_doubt",
            level=logging.WARNING,
            clock=self.clock_id,
            epoch=self.epoch,
            until=tick_iso(self._doubt_until_ms),
            ticks=ticks,
            fence_from=self.floors.fence + 1,
            note="Redis lost writes of a clock that died with it: these ticks may have run",
        )

    def _lost(self, reason: str) -> None:
        event(
            log,
            "lease_lost",
            level=logging.WARNING,
            clock=self.clock_id,
            epoch=self.epoch,
            reason=reason,
        )
        self.recovery.left_active(lease_still_ours=self._lease_still_ours())
        self.epoch = None
        self._heap.clear()

    def _lease_still_ours(self) -> bool:
        return time.monotonic() < self._lease_until

    # -- active ----------------------------------------------------------------------------

    def _active_step(self) -> None:
        assert self.epoch is not None
        if time.monotonic() >= self._next_renew:
            sent = time.monotonic()
            ok, now_ms = self.store.renew(self.clock_id, self.epoch, self._ttl_ms)
            self.time.observe(now_ms, sent, time.monotonic())
            if not ok:
                self._lost("renewal refused: the lease lapsed or was taken")
                return
            self._next_renew = sent + self._renew_every_s
            self._lease_until = sent + self.settings.lease_ttl_s
            self._maybe_heartbeat("active")
        now_ms = self.time.now_ms()
        due: list[tuple[int, str]] = []
        while self._heap and self._heap[0][0] <= now_ms:
            due.append(heapq.heappop(self._heap))
        if due:
            self._fire(due, now_ms)
            if self.epoch is None:
                return
        wait_s = self._next_renew - time.monotonic()
        if self._heap:
            wait_s = min(wait_s, (self._heap[0][0] - self.time.now_ms()) / 1000)
        if wait_s > 0:
            self._stop.wait(wait_s)

    def _fire(self, due: list[tuple[int, str]], now_ms: int) -> None:
        assert self.epoch is not None
        requests: list[dict[str, Any]] = []
        plans = []
        for first_tick, name in due:
            sched = self.schedules[name]
            plan = plan_due(
                sched,
                first_tick_ms=first_tick,
                now_ms=now_ms,
                ontime_ms=self._ontime_ms,
                limit=CATCHUP_SCAN_LIMIT,
                doubt_until_ms=self._doubt_until_ms,
            )
            outage = None
            if plan.outage is not None:
                outage = {
                    **plan.outage,
                    "clock": self.clock_id,
                    "epoch": self.epoch,
                    "prev_lease": self._prev_lease,
                }
            plans.append((sched, plan, outage))
            requests.append(
                {
                    "schedule": name,
                    "items": plan.items,
                    "history_limit": self.settings.history_limit,
                    "next_tick_ms": plan.next_ms,
                    "outage": outage,
                }
            )
        sent = time.monotonic()
        batches = self.store.claim_many(
            self.clock_id, self.epoch, requests, fence_floor=self.floors.fence
        )
        received = time.monotonic()
        if self.settings.wait_replicas and any(
            r.status == "run" for b in batches for r in b.results
        ):
            self._wait_for_replicas()
        for (sched, plan, outage), batch in zip(plans, batches, strict=True):
            if batch.stale:
                self._lost("claim refused: stale epoch")
                return
            self.time.observe(batch.now_ms, sent, received)
            retry_at: int | None = None
            for res in batch.results:
                if res.status in ("run", "missed"):
                    self.floors.saw_tick(sched.name, res.tick_ms, res.fence)
                if res.status == "run":
                    self._dispatch(sched, res.tick_ms, res.fence)
                elif res.status == "early":
                    retry_at = res.tick_ms if retry_at is None else min(retry_at, res.tick_ms)
                elif res.status in ("dup", "old"):
                    event(
                        log,
                        "tick_already_claimed",
                        level=logging.WARNING,
                        schedule=sched.name,
                        tick=tick_iso(res.tick_ms),
                        result=res.status,
                        clock=self.clock_id,
                        epoch=self.epoch,
                    )
            if outage is not None and retry_at is None:
                self._report_outage(sched, outage)
            if retry_at is not None:
                heapq.heappush(self._heap, (retry_at, sched.name))
            else:
                heapq.heappush(self._heap, (plan.next_ms, sched.name))

    def _wait_for_replicas(self) -> None:
        """Let the claims reach replicas before their jobs start, so a failover to a
        replica does not forget them. Bounded to a quarter lease: past it the jobs start
        anyway (a late tick is worse than the small chance of a failover right now)."""
        want = self.settings.wait_replicas
        acked = self.store.wait_replicas(want, max(int(self._ttl_ms / 4), 10))
        if acked < want:
            event(
                log,
                "claims_not_replicated",
                level=logging.WARNING,
                clock=self.clock_id,
                replicas=acked,
                wanted=want,
                note="a failover now could forget these claims",
            )

    def _report_outage(self, sched: Schedule, outage: dict[str, Any]) -> None:
        event(
            log,
            "catchup",
            level=logging.WARNING,
            schedule=sched.name,
            policy=sched.catchup,
            first=tick_iso(outage["first_ms"]),
            last=tick_iso(outage["last_ms"]),
            late_ticks=outage["count"],
            run_late=outage["run_late"],
            missed=outage["missed"],
            in_doubt=outage["in_doubt"] or None,
            clock=self.clock_id,
        )
        if self.alerts is not None:
            self.alerts.outage(sched, outage)

    def _dispatch(self, sched: Schedule, tick_ms: int, fence: int) -> None:
        assert self.epoch is not None
        # by Redis time as the job is handed to its thread: `late` means "until the start"
        late_s = max(self.time.now_ms() - tick_ms, 0) / 1000
        ctx = RunContext(
            schedule=sched.name,
            tick=tick_datetime(tick_ms),
            fence=fence,
            clock_id=self.clock_id,
            epoch=self.epoch,
            late=late_s,
        )
        event(
            log,
            "fire",
            schedule=sched.name,
            tick=tick_iso(tick_ms),
            fence=fence,
            epoch=self.epoch,
            late_ms=int(late_s * 1000),
            clock=self.clock_id,
        )
        self.worker.submit(sched, ctx)
        if self.alerts is not None:
            # a tick older than the on-time window is an outage's catch-up, reported there
            self.alerts.dispatched(sched, ctx, catchup=late_s * 1000 > self._ontime_ms)

    # -- outcomes --------------------------------------------------------------------------

    def _record_outcome(self, sched: Schedule, ctx: RunContext, outcome: Outcome) -> None:
        if self.alerts is not None:  # first: it never waits, the Redis write may retry
            self.alerts.finished(sched, ctx, outcome)
        fields = {
            "status": outcome.status,
            "started_ms": outcome.started_ms,
            "duration_ms": outcome.duration_ms,
        }
        if outcome.error:
            fields["error"] = outcome.error[:2000]
        self._finish_with_retry(ctx, fields)
        if outcome.status == "ok":
            event(
                log,
                "run_ok",
                schedule=ctx.schedule,
                tick=tick_iso(ctx.tick_ms),
                fence=ctx.fence,
                duration_ms=outcome.duration_ms,
            )

    def _finish_with_retry(self, ctx: RunContext, fields: dict[str, Any]) -> None:
        delay = 0.2
        for attempt in range(6):
            try:
                result = self.store.finish(ctx.schedule, ctx.tick_ms, ctx.fence, fields)
            except TRANSIENT_ERRORS as exc:
                if attempt == 5:
                    event(
                        log,
                        "outcome_not_recorded",
                        level=logging.ERROR,
                        schedule=ctx.schedule,
                        tick=tick_iso(ctx.tick_ms),
                        fence=ctx.fence,
                        error=f"{type(exc).__name__}: {exc}",
                    )
                    return
                time.sleep(delay)
                delay = min(delay * 2, 2.0)
                continue
            if result != "ok":
                event(
                    log,
                    "outcome_refused",
                    level=logging.WARNING,
                    schedule=ctx.schedule,
                    tick=tick_iso(ctx.tick_ms),
                    fence=ctx.fence,
                    result=result,
                )
            return

    # -- shutdown --------------------------------------------------------------------------

    def _shutdown(self) -> int:
        if self.epoch is not None:
            try:
                released = self.store.release(self.clock_id, self.epoch)
                event(
                    log,
                    "lease_released" if released else "lease_already_gone",
                    clock=self.clock_id,
                    epoch=self.epoch,
                )
            except (*TRANSIENT_ERRORS, *AUTH_ERRORS) as exc:
                event(
                    log,
                    "lease_release_failed",
                    level=logging.WARNING,
                    clock=self.clock_id,
                    error=f"{type(exc).__name__}: {exc}",
                )
            self.epoch = None
        running = self.worker.running()
        if running:
            event(
                log,
                "waiting_for_jobs",
                clock=self.clock_id,
                running=len(running),
                grace_s=self.settings.grace_s,
            )
        deadline = (self._stop_at or time.monotonic()) + self.settings.grace_s
        # with Sentry, the last tenth of the grace period (at most 1 s) is for sending
        # what the runs reported, the interrupted ones' check-ins included
        reserve_s = min(1.0, self.settings.grace_s / 10) if self.alerts is not None else 0.0
        leftover: list[RunContext] = []
        while True:
            leftover = self.worker.wait(min(deadline - reserve_s, time.monotonic() + 0.2))
            if not leftover or time.monotonic() >= deadline - reserve_s or self._force.is_set():
                break
        for ctx in leftover:
            event(
                log,
                "run_interrupted",
                level=logging.WARNING,
                schedule=ctx.schedule,
                tick=tick_iso(ctx.tick_ms),
                fence=ctx.fence,
            )
            if self.alerts is not None:
                self.alerts.interrupted(ctx)
            with contextlib.suppress(*TRANSIENT_ERRORS):
                self.store.finish(
                    ctx.schedule,
                    ctx.tick_ms,
                    ctx.fence,
                    {"status": "interrupted", "error": "still running when the clock stopped"},
                )
        with contextlib.suppress(*TRANSIENT_ERRORS):
            self.store.forget_clock(self.clock_id)
        if self.alerts is not None and not self._force.is_set():
            self.alerts.flush(deadline - time.monotonic())  # never past the grace period
        event(log, "clock_stopped", clock=self.clock_id, interrupted=len(leftover))
        return 0

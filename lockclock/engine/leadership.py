"""Leadership: which clock is active. Liveness only; safety is the claim script's.

A standby heartbeats, holds off after Redis changed under it (unless it knows all), and
tries the lease, blocking on the release signal between tries. The active clock renews
from its own loop every quarter lease and stops being active the moment a renewal is
refused. On shutdown it releases, so a standby takes over at once.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from dataclasses import dataclass

import redis

from ..coordination.failures import AUTH_ERRORS, TRANSIENT_ERRORS
from ..coordination.keys import layout_refused
from ..coordination.lease import Acquired, LayoutRefused
from ..coordination.records import ClockInfo, ClockRole, PreviousLease
from ..coordination.recovery import Floors, Recovery
from ..coordination.server import ServerTime
from ..coordination.store import Store
from ..errors import LayoutError
from ..hooks import Hooks
from ..lifecycle import HowAcquired, LeaseGained, LeaseLost
from ..logs import EventLog
from ..settings import Settings
from ..version import __version__


def new_clock_id() -> str:
    dyno = os.environ.get("DYNO") or socket.gethostname()
    return f"{dyno}:{os.getpid()}:{os.urandom(2).hex()}"


@dataclass(frozen=True, kw_only=True)
class Activation:
    """What a clock knows as it becomes active."""

    epoch: int
    previous: PreviousLease
    doubt_until_ms: int  # ticks up to here may have run with claims Redis lost (0: none)


class Leadership:
    def __init__(
        self,
        *,
        store: Store,
        blocking: redis.Redis,
        settings: Settings,
        clock_id: str,
        hooks: Hooks,
        schedules: int,
    ) -> None:
        self.store = store
        self.blocking = blocking
        self.settings = settings
        self.clock_id = clock_id
        self.hooks = hooks
        self.schedules = schedules
        self.time = ServerTime()
        self.floors = Floors()
        self.recovery = Recovery(clock_id)  # after Redis lost writes: see recovery.py
        self.epoch: int | None = None
        self.started_ms = int(time.time() * 1000)
        self.ttl_ms = int(settings.lease_ttl_s * 1000)
        self._worker_lease_ms = int(settings.worker_lease_s * 1000)
        # Every quarter lease, and at least twice per worker beat interval: Redis then
        # hears from the active clock often enough that a gap past a beat interval means
        # nobody reached it (note_reachable in prelude.lua), even with every worker gone.
        self._renew_every_s = min(settings.lease_ttl_s / 4, settings.worker_lease_s / 6)
        self.next_renew = 0.0
        self._next_heartbeat = 0.0
        self._hold_until = 0.0
        self._lease_until = 0.0  # monotonic: our lease cannot have lapsed before this
        self._log = EventLog("lockclock.clock", clock=clock_id)

    @property
    def active(self) -> bool:
        return self.epoch is not None

    # -- heartbeats -------------------------------------------------------------------------

    def _info(self, role: ClockRole) -> ClockInfo:
        return ClockInfo(
            id=self.clock_id,
            host=socket.gethostname(),
            dyno=os.environ.get("DYNO"),
            pid=os.getpid(),
            role=role,
            epoch=self.epoch,
            started_ms=self.started_ms,
            heartbeat_ms=self.time.now_ms(),
            # heartbeats come every second; past this, the clock is gone
            stale_after_ms=3000 + 2 * self.ttl_ms,
            schedules=self.schedules,
            version=__version__,
        )

    def heartbeat(self, role: ClockRole, *, due_only: bool = False) -> None:
        # The active clock needs no identity check: its floors go with every claim.
        # Standbys (and a clock about to register) must know whether to hold off.
        if due_only and time.monotonic() < self._next_heartbeat:
            return
        self._next_heartbeat = time.monotonic() + 1.0
        if role != "standby":
            self.store.clocks.heartbeat(self._info(role))
            return
        previous = self.recovery.server
        server = self.store.clocks.heartbeat_and_identify(self._info(role))
        if not self.recovery.observe(server, self.time.now_ms()):
            return
        # Redis restarted or failed over, and may have lost its latest writes. Whoever was
        # active until Redis went away knows the most (its floors): the others hold off
        # for one lease so that clock can take the lease back and restore marks and
        # counters.
        hold_s = 0.0 if self.recovery.knows_all else self.settings.lease_ttl_s
        self._hold_until = time.monotonic() + hold_s
        self._log.warning(
            "redis_server_changed",
            server=server.id,
            previous=previous.id if previous else None,
            hold_s=hold_s,
        )

    # -- standby ----------------------------------------------------------------------------

    def standby_step(self, stop: threading.Event) -> Activation | None:
        """One try at the lease; waits (for a release, or the hold) when it is not ours."""
        self.heartbeat("standby", due_only=True)
        if time.monotonic() < self._hold_until:
            stop.wait(min(self._hold_until - time.monotonic(), 0.5))
            return None
        sent = time.monotonic()
        res = self.store.lease.acquire(
            self.clock_id,
            self.ttl_ms,
            epoch_floor=self.floors.epoch,
            worker_lease_ms=self._worker_lease_ms,
        )
        if isinstance(res, LayoutRefused):
            raise LayoutError(layout_refused(self.settings.namespace, res.found))
        self.time.observe(res.now_ms, sent, time.monotonic())
        if isinstance(res, Acquired):
            return self._activate(res, sent)
        self.recovery.saw_other_holder()
        pttl_s = res.pttl_ms / 1000 if res.pttl_ms > 0 else 0.05
        if self.store.lease.wait_for_release(self.blocking, min(pttl_s, 0.5)):
            self._log.info("lease_release_seen", holder=res.holder)
        return None

    def _activate(self, acq: Acquired, sent: float) -> Activation | None:
        self.floors.epoch = max(self.floors.epoch, acq.epoch)
        # A restart since our last look would not have raised an error: look again before
        # relying on the marks, and give the lease back if we must hold off.
        self.heartbeat("standby")
        if time.monotonic() < self._hold_until:
            self.store.lease.release(self.clock_id, acq.epoch)
            return None
        self.epoch = acq.epoch
        doubt_until_ms = self.recovery.doubt_until(acq)
        self.recovery.took_over(acq)
        self._lease_until = sent + self.settings.lease_ttl_s
        self.next_renew = sent + self._renew_every_s
        previous = PreviousLease(
            clock=acq.prev_clock,
            epoch=acq.prev_epoch,
            last_renewed_ms=acq.prev_renewed_ms,
            lapsed_ms=acq.prev_released_ms or acq.prev_expires_ms,
            released=bool(acq.prev_released_ms),
        )
        how: HowAcquired = (
            "released" if acq.prev_released_ms else ("expired" if acq.prev_clock else "new")
        )
        self.hooks.lease_gained(
            LeaseGained(clock_id=self.clock_id, epoch=acq.epoch, how=how, previous=previous)
        )
        return Activation(epoch=acq.epoch, previous=previous, doubt_until_ms=doubt_until_ms)

    # -- active -----------------------------------------------------------------------------

    def renewal_due(self) -> bool:
        return time.monotonic() >= self.next_renew

    def renew(self) -> bool:
        """Renew (every quarter lease, or sixth of a worker lease if shorter); False once
        the lease is not ours."""
        assert self.epoch is not None
        sent = time.monotonic()
        ok, now_ms = self.store.lease.renew(
            self.clock_id, self.epoch, self.ttl_ms, worker_lease_ms=self._worker_lease_ms
        )
        self.time.observe(now_ms, sent, time.monotonic())
        if not ok:
            self.lost("renewal refused: the lease lapsed or was taken")
            return False
        self.next_renew = sent + self._renew_every_s
        self._lease_until = sent + self.settings.lease_ttl_s
        self.heartbeat("active", due_only=True)
        return True

    def lost(self, reason: str) -> None:
        """We are no longer active (a script refused our epoch)."""
        self.hooks.lease_lost(LeaseLost(clock_id=self.clock_id, epoch=self.epoch, reason=reason))
        self.recovery.left_active(lease_still_ours=self._lease_still_ours())
        self.epoch = None

    def redis_down(self) -> None:
        """Redis stopped answering: whatever we held is unknown now."""
        if self.epoch is not None:
            self.recovery.left_active(lease_still_ours=self._lease_still_ours())
            self._log.warning("lease_unknown", epoch=self.epoch, reason="redis unavailable")
        self.epoch = None
        self._next_heartbeat = 0.0  # on reconnecting, check first whether Redis changed

    def _lease_still_ours(self) -> bool:
        return time.monotonic() < self._lease_until

    def release(self) -> None:
        """On shutdown: give the lease up so a standby takes over at once."""
        if self.epoch is None:
            return
        try:
            released = self.store.lease.release(self.clock_id, self.epoch)
            self._log.info("lease_released" if released else "lease_already_gone", epoch=self.epoch)
        except (*TRANSIENT_ERRORS, *AUTH_ERRORS) as exc:
            self._log.warning("lease_release_failed", error=f"{type(exc).__name__}: {exc}")
        self.epoch = None

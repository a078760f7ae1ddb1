"""The clock lease: liveness, who does the work. Never safety (that is `claims.py`).

One active clock renews it from its own loop; standbys block on the release signal
(BLPOP, on a connection whose socket timeout outlasts the wait) and take over at once
when it is released, or when it lapses. Every grant carries a new fencing epoch.
"""

from __future__ import annotations

from dataclasses import dataclass

import redis

from .keys import LAYOUT_VERSION, Keys
from .scripts import load

# How long a release signal waits for a standby to pick it up.
SIGNAL_TTL_MS = 60_000
# The workers' lease (Settings.worker_lease_s) when a caller does not say.
DEFAULT_WORKER_LEASE_MS = 3000


@dataclass(frozen=True, kw_only=True)
class Acquired:
    epoch: int
    now_ms: int
    prev_clock: str
    prev_epoch: int
    prev_renewed_ms: int
    prev_expires_ms: int
    prev_released_ms: int


@dataclass(frozen=True, kw_only=True)
class Held:
    holder: str
    pttl_ms: int
    now_ms: int


@dataclass(frozen=True, kw_only=True)
class LayoutRefused:
    """The namespace is recorded in another key layout: nothing was written."""

    found: str


@dataclass(frozen=True, kw_only=True)
class LeaseInfo:
    clock: str | None
    epoch: int | None
    ms_left: int | None


class Lease:
    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self.redis = client
        self.keys = keys
        self._acquire = load(client, "acquire")
        self._renew = load(client, "renew")
        self._release = load(client, "release")

    def acquire(
        self,
        clock_id: str,
        ttl_ms: int,
        *,
        epoch_floor: int = 0,
        worker_lease_ms: int = DEFAULT_WORKER_LEASE_MS,
    ) -> Acquired | Held | LayoutRefused:
        """Each try, like each renewal, tells Redis it was within reach (`note_reachable`
        in prelude.lua): the worker leases are judged against that."""
        k = self.keys
        r = self._acquire(
            keys=[
                k.lease,
                k.epoch,
                k.lease_signal,
                k.lease_last,
                k.layout,
                k.reachable_seen,
                k.reachable_since,
            ],
            args=[clock_id, ttl_ms, epoch_floor, LAYOUT_VERSION, worker_lease_ms],
        )
        if r[0] == "layout":
            return LayoutRefused(found=str(r[1]))
        if int(r[0]) == 1:
            return Acquired(
                epoch=int(r[1]),
                now_ms=int(r[2]),
                prev_clock=str(r[3]),
                prev_epoch=int(r[4]),
                prev_renewed_ms=int(r[5]),
                prev_expires_ms=int(r[6]),
                prev_released_ms=int(r[7]),
            )
        return Held(holder=str(r[1]), pttl_ms=int(r[2]), now_ms=int(r[3]))

    def renew(
        self,
        clock_id: str,
        epoch: int,
        ttl_ms: int,
        *,
        worker_lease_ms: int = DEFAULT_WORKER_LEASE_MS,
    ) -> tuple[bool, int]:
        """(still ours, Redis time)."""
        k = self.keys
        r = self._renew(
            keys=[k.lease, k.lease_last, k.reachable_seen, k.reachable_since],
            args=[clock_id, epoch, ttl_ms, worker_lease_ms],
        )
        return int(r[0]) == 1, int(r[1])

    def release(self, clock_id: str, epoch: int) -> bool:
        k = self.keys
        r = self._release(
            keys=[k.lease, k.lease_signal, k.lease_last], args=[clock_id, epoch, SIGNAL_TTL_MS]
        )
        return int(r) == 1

    def wait_for_release(self, blocking: redis.Redis, timeout_s: float) -> bool:
        """Block until a holder releases (True) or the timeout passes (False).

        `blocking` must be a client whose socket timeout outlasts `timeout_s`.
        """
        return blocking.blpop([self.keys.lease_signal], timeout=max(timeout_s, 0.01)) is not None

    def info(self) -> LeaseInfo:
        """The current holder and the lease's remaining ms (all None when nobody holds it)."""
        with self.redis.pipeline(transaction=False) as p:
            p.hgetall(self.keys.lease)
            p.pttl(self.keys.lease)
            cur, pttl = p.execute()
        if not cur:
            return LeaseInfo(clock=None, epoch=None, ms_left=None)
        epoch = int(cur["epoch"]) if cur.get("epoch") else None
        return LeaseInfo(clock=cur.get("clock"), epoch=epoch, ms_left=int(pttl))

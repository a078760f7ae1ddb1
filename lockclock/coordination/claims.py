"""Claims: safety, at most one dispatch per tick.

`claim.lua` alone decides whether a tick is dispatched: it checks, atomically, that the
caller holds the lease with this epoch, that the tick is due by Redis time, that no
record of it exists and that it is above the schedule's high-water mark. That holds
whatever the leases do. A claimed run is put in its queue's stream in the same step
(or waits behind the run before it), and the overlap policy is decided there too.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, cast

import redis

from ..scheduling import ClaimAction
from .keys import LAYOUT_VERSION, Keys
from .records import OutageRecord, RunPolicy
from .scripts import load

ClaimStatus = Literal["run", "missed", "paused", "skipped", "dup", "old", "early"]
# run: "started" (inline: the claim started it), "queued" (in the stream) or "waiting"
# (behind the run before it);
# skipped: "streak" when it starts a new skip streak; paused: "span" when it starts the
# pause's span
ClaimNote = Literal["", "started", "queued", "waiting", "streak", "span"]


@dataclass(frozen=True, kw_only=True)
class ClaimRequest:
    """What one schedule asks of `claim.lua` in one pass of the loop."""

    schedule: str
    items: Sequence[tuple[int, ClaimAction]]
    history_limit: int
    policy: RunPolicy
    next_tick_ms: int | None = None
    outage: OutageRecord | None = None
    worker: str = ""  # inline: the clock's own worker id, which the claim starts runs as


@dataclass(frozen=True, kw_only=True)
class ClaimResult:
    tick_ms: int
    status: ClaimStatus
    fence: int
    note: ClaimNote = ""


@dataclass(frozen=True, kw_only=True)
class ClaimBatch:
    """The answer to one claim call; `stale` means the lease was not ours, `layout` the
    other key layout the namespace is recorded in (nothing was written either way)."""

    now_ms: int
    results: list[ClaimResult]
    stale: bool = False
    layout: str | None = None


class Claims:
    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self.redis = client
        self.keys = keys
        self._claim = load(client, "claim")

    def _call(
        self, client: Any, clock_id: str, epoch: int, req: ClaimRequest, fence_floor: int
    ) -> Any:
        k = self.keys
        args: list[Any] = [
            clock_id,
            epoch,
            req.schedule,
            req.history_limit,
            "" if req.next_tick_ms is None else req.next_tick_ms,
            "" if req.outage is None else json.dumps(req.outage.to_json(), sort_keys=True),
            fence_floor,
            LAYOUT_VERSION,
            json.dumps(req.policy.to_json(), sort_keys=True),
            req.worker,
        ]
        for tick, action in req.items:
            args += [tick, action]
        keys = [
            k.lease,
            k.fence,
            k.hwm,
            k.runs(req.schedule),
            k.ticks(req.schedule),
            k.next,
            k.outages(req.schedule),
            k.layout,
            k.active(req.schedule),
            k.queue(req.policy.queue),
            k.worker_runs(req.worker or "-"),
            k.paused,
        ]
        return self._claim(keys=keys, args=args, client=client)

    @staticmethod
    def _parse(r: Sequence[Any]) -> ClaimBatch:
        if r and r[0] == "stale":
            return ClaimBatch(now_ms=0, results=[], stale=True)
        if r and r[0] == "layout":
            return ClaimBatch(now_ms=0, results=[], layout=str(r[1]))
        out = [
            ClaimResult(
                tick_ms=int(r[i]),
                status=cast(ClaimStatus, str(r[i + 1])),
                fence=int(r[i + 2]),
                note=cast(ClaimNote, str(r[i + 3])),
            )
            for i in range(1, len(r), 4)
        ]
        return ClaimBatch(now_ms=int(r[0]), results=out)

    def claim_many(
        self,
        clock_id: str,
        epoch: int,
        requests: Sequence[ClaimRequest],
        *,
        fence_floor: int = 0,
    ) -> list[ClaimBatch]:
        """Claim ticks of several schedules in one round trip (one script call each).

        `fence_floor` is the highest fence the caller has seen: new fences exceed it even
        if Redis lost the counter's latest writes.
        """
        if not requests:
            return []
        with self.redis.pipeline(transaction=False) as p:
            for req in requests:
                self._call(p, clock_id, epoch, req, fence_floor)
            raw = p.execute()
        return [self._parse(r) for r in raw]

    def wait_replicas(self, replicas: int, timeout_ms: int) -> int:
        """Block until `replicas` replicas have our writes so far (or the timeout);
        return how many did."""
        return int(self.redis.wait(replicas, timeout_ms))

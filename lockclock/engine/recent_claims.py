"""With workers, a claim and its queue entry vanish together when Redis loses its last
writes, and the clock's floors then keep the tick from being claimed again: a silent
miss. The active clock remembers its claims of the last seconds; when it takes the lease
again after Redis went away, those Redis no longer holds are recorded missed, in doubt
(a worker may have read the entry in the instant before)."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Mapping

from ..coordination.claims import ClaimRequest
from ..coordination.records import RunPolicy
from ..coordination.store import Store
from ..logs import EventLog
from ..scheduling import Schedule
from ..settings import Settings
from .leadership import Leadership

# How far back claims are remembered: past Redis's fsync interval, with margin.
RECENT_CLAIMS_S = 10.0


class RecentClaims:
    def __init__(
        self, *, store: Store, schedules: Mapping[str, Schedule], settings: Settings
    ) -> None:
        self.store = store
        self.schedules = schedules
        self.settings = settings
        self._recent: deque[tuple[float, str, int]] = deque()  # (monotonic, schedule, tick)

    def remember(self, name: str, tick_ms: int) -> None:
        now = time.monotonic()
        self._recent.append((now, name, tick_ms))
        while self._recent[0][0] < now - RECENT_CLAIMS_S:
            self._recent.popleft()

    def record_lost(
        self,
        *,
        leadership: Leadership,
        epoch: int,
        policy: Callable[[Schedule], RunPolicy],
    ) -> None:
        horizon = time.monotonic() - RECENT_CLAIMS_S
        recent = [r for r in self._recent if r[0] >= horizon]
        self._recent.clear()
        if not recent:
            return
        with self.store.redis.pipeline(transaction=False) as p:
            for _, name, tick in recent:
                p.hexists(self.store.keys.runs(name), str(tick))
            found = p.execute()
        lost: dict[str, list[int]] = {}
        for (_, name, tick), exists in zip(recent, found, strict=True):
            if not exists and name in self.schedules:
                lost.setdefault(name, []).append(tick)
        if not lost:
            return
        requests = [
            ClaimRequest(
                schedule=name,
                items=[(t, "doubt") for t in sorted(ticks)],
                history_limit=self.settings.history_limit,
                policy=policy(self.schedules[name]),
            )
            for name, ticks in lost.items()
        ]
        self.store.claims.claim_many(
            leadership.clock_id, epoch, requests, fence_floor=leadership.floors.fence
        )
        EventLog("lockclock.clock", clock=leadership.clock_id).warning(
            "claims_lost",
            ticks=sum(len(t) for t in lost.values()),
            schedules=",".join(sorted(lost)),
            note="Redis lost these claims and their queue entries: recorded missed, in doubt",
        )

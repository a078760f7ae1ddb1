"""Redis as the one clock of truth, and which Redis (holding which data) it is.

Every script answers with Redis `TIME`; `ServerTime` re-anchors its estimate of it on
each answer, so no host's wall clock takes part in any decision. `ServerIdentity` lets a
clock notice a restart, a failover or lost data between two looks.
"""

from __future__ import annotations

import time
from dataclasses import dataclass


class ServerTime:
    """Redis server time estimated from the local monotonic clock.

    Each answer re-anchors the estimate at the midpoint of its round trip, so a host
    whose wall clock is skewed is not.
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


@dataclass(frozen=True, kw_only=True)
class ServerIdentity:
    """Which Redis, holding which data, the clocks are talking to.

    A restart or failover changes the `run_id`; lost or flushed data the `generation`
    (a token created on first use). `started_ms` is the latest moment the server can
    have started, `now_ms` its time when asked: Redis time, 0 when INFO is refused (the
    run_id then reads "-").
    """

    run_id: str
    generation: str
    started_ms: int
    now_ms: int

    @property
    def id(self) -> str:
        return f"{self.run_id}/{self.generation}"

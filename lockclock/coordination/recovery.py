"""What one clock knows about claims Redis may have forgotten.

Redis forgets its last writes in a crash (AOF everysec), a failover to a lagging
replica or a flush. The clock that was active then knows what it claimed (its
`Floors`); nobody else does. `Recovery` decides two things from what the clock has
seen: whether it may take the lease back at once after the server changed (it knows
all), and, when it does take the lease, up to which tick nothing can be vouched for
(the doubt horizon).

Pure bookkeeping, no Redis and no clock of its own: leadership feeds it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .lease import Acquired
from .server import ServerIdentity


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


@dataclass
class Recovery:
    clock_id: str
    server: ServerIdentity | None = None  # as of our last look
    # True once we stopped being active while our lease was still ours, until we see
    # another holder: nobody else can have claimed since, so our floors are complete
    knows_all: bool = False
    changed_at_ms: int = 0  # Redis time we noticed lost data or a failover
    took_over_from: tuple[str, int] = ("", 0)  # (clock, epoch) of the holder we followed

    def observe(self, server: ServerIdentity, now_ms: int) -> bool:
        """Note who the server is (`now_ms`: our estimate of Redis time, for a server
        that refuses INFO); True if it changed since our last look.

        When the data is gone, or the server did not restart since our last look (a
        failover), its start time does not bound what it forgot: this moment does.
        """
        prev, self.server = self.server, server
        if prev is None or server.id == prev.id:
            return False
        lost_all = server.generation != prev.generation
        if lost_all or not prev.now_ms or server.started_ms <= prev.now_ms:
            self.changed_at_ms = server.now_ms or now_ms
        return True

    def left_active(self, *, lease_still_ours: bool) -> None:
        """We stopped being active (Redis went away, or refused us): if our lease had not
        lapsed, nobody else can have claimed since."""
        self.knows_all = lease_still_ours

    def saw_other_holder(self) -> None:
        self.knows_all = False  # its claims are not in our floors

    def doubt_until(self, acq: Acquired) -> int:
        """The latest tick that may have run with its claim since lost, or 0.

        If the clock active when Redis forgot was us, our floors cover its claims. If its
        lease was released, or renewed on the current server, it restored its own floors
        there. Otherwise, had it died with Redis, nobody knows what it ran up to the
        moment the server restarted, or we noticed the change.
        """
        # the last holder Redis remembers is us, or whoever we took over from (Redis lost
        # our taking over), or unknown (all data lost): nobody came between
        last_known = (acq.prev_clock, acq.prev_epoch)
        if self.knows_all and (
            acq.prev_clock in ("", self.clock_id) or last_known == self.took_over_from
        ):
            return 0
        if acq.prev_released_ms:
            return 0
        # a restart bounds what a previous holder can have run on the old server
        restarted_ms = self.server.started_ms if self.server and acq.prev_clock else 0
        horizon = min(max(restarted_ms, self.changed_at_ms), acq.now_ms)  # never ahead
        return horizon if acq.prev_renewed_ms < horizon else 0

    def took_over(self, acq: Acquired) -> None:
        """We hold the lease now: what we knew is spent, and we follow its last holder."""
        self.knows_all = False
        self.changed_at_ms = 0
        if acq.prev_clock not in ("", self.clock_id):
            self.took_over_from = (acq.prev_clock, acq.prev_epoch)

"""Recovery: whom a changed Redis server lets back first, and the doubt horizon (pure
bookkeeping, so fake identities and lease answers are fine; test_durability runs it)."""

from __future__ import annotations

from lockclock.coordination.lease import Acquired
from lockclock.coordination.recovery import Recovery
from lockclock.coordination.server import ServerIdentity

T = 1_800_000_000_000  # Redis time, ms


def server(
    run_id: str = "r1", generation: str = "g1", started: int = 0, now: int = T
) -> ServerIdentity:
    return ServerIdentity(run_id=run_id, generation=generation, started_ms=started, now_ms=now)


def acquired(prev: str = "a", *, epoch: int = 4, renewed: int = T - 10_000, released: int = 0,
             now: int = T + 5_000) -> Acquired:  # fmt: skip
    return Acquired(epoch=epoch + 1, now_ms=now, prev_clock=prev, prev_epoch=epoch,
                    prev_renewed_ms=renewed, prev_expires_ms=renewed + 1000,
                    prev_released_ms=released)  # fmt: skip


def watching(started: int = T - 86_400_000) -> Recovery:
    r = Recovery("b")
    assert not r.observe(server(started=started, now=T - 20_000), T)  # the first look
    return r


def test_a_restart_puts_ticks_up_to_the_servers_start_in_doubt() -> None:
    r = watching()
    assert r.observe(server("r2", started=T, now=T + 2_000), T + 2_000)
    assert r.changed_at_ms == 0  # started after our last look: its start bounds the loss
    assert r.doubt_until(acquired()) == T
    # never ahead of the takeover itself
    assert r.doubt_until(acquired(now=T - 1)) == T - 1


def test_a_failover_or_lost_data_puts_ticks_up_to_noticing_in_doubt() -> None:
    r = watching()
    assert r.observe(server("r2", now=T + 3_000), T)  # the replica ran long before
    assert r.changed_at_ms == T + 3_000
    assert r.doubt_until(acquired()) == T + 3_000
    r = watching()
    assert r.observe(server(generation="g2", now=T + 4_000), T)  # same server, data gone
    assert r.doubt_until(acquired(prev="")) == T + 4_000  # the lease record is gone too
    r = watching()
    assert r.observe(server("-", now=0), T + 6_000)  # INFO refused: our own estimate
    assert r.changed_at_ms == T + 6_000


def test_no_doubt_when_the_previous_holder_released_renewed_since_or_never_was() -> None:
    r = watching()
    r.observe(server("r2", started=T, now=T + 2_000), T + 2_000)
    assert r.doubt_until(acquired(released=T - 9_000)) == 0
    assert r.doubt_until(acquired(renewed=T + 1_000)) == 0  # it re-registered after
    assert watching().doubt_until(acquired(prev="")) == 0  # a new namespace
    assert watching().doubt_until(acquired()) == 0  # an ordinary failover, no change


def test_the_clock_that_held_the_lease_when_redis_went_away_knows_all() -> None:
    r = watching()
    r.left_active(lease_still_ours=True)
    r.observe(server("r2", started=T, now=T + 2_000), T + 2_000)
    assert r.doubt_until(acquired(prev="b")) == 0  # Redis remembers us as the holder
    assert r.doubt_until(acquired(prev="")) == 0  # or nobody
    assert r.doubt_until(acquired(prev="a")) == T  # someone came between
    r.took_over_from = ("a", 4)  # Redis lost our taking over from a
    assert r.doubt_until(acquired(prev="a", epoch=4)) == 0
    r.saw_other_holder()
    assert r.doubt_until(acquired(prev="b")) == T
    r.left_active(lease_still_ours=False)  # paused past the lease: someone may have claimed
    assert r.doubt_until(acquired(prev="b")) == T


def test_taking_over_spends_what_we_knew_and_remembers_whom_we_followed() -> None:
    r = watching()
    r.left_active(lease_still_ours=True)
    r.observe(server(generation="g2", now=T + 4_000), T)
    r.took_over(acquired(prev="a", epoch=7))
    assert (r.knows_all, r.changed_at_ms, r.took_over_from) == (False, 0, ("a", 7))
    r.took_over(acquired(prev="b"))  # our own lease back: still following a
    assert r.took_over_from == ("a", 7)

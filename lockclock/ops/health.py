"""`lockclock health` and `GET /api/v1/health`: is the fleet doing its job? For a
container probe or an uptime check: healthy when a clock renewed the lease within the
last three leases and no schedule is overdue past its max lateness (a paused one is not
overdue)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..coordination.store import Store
from ..logs import iso_ms
from .control import ALL, Operations

RENEWAL_LEASES = 3


@dataclass(frozen=True, kw_only=True)
class Overdue:
    schedule: str
    tick_ms: int
    late_s: float
    max_lateness_s: float


@dataclass(frozen=True, kw_only=True)
class Health:
    ok: bool
    problems: list[str]
    active_clock: str | None
    renewed_ago_s: float | None
    overdue: list[Overdue] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "problems": self.problems,
            "active_clock": self.active_clock,
            "lease_renewed_ago_s": self.renewed_ago_s,
            "overdue": [
                {"schedule": o.schedule, "tick": iso_ms(o.tick_ms), "late_s": o.late_s,
                 "max_lateness_s": o.max_lateness_s}
                for o in self.overdue
            ],
        }  # fmt: skip


def check_health(store: Store) -> Health:
    now = store.server_ms()
    last = store.redis.hgetall(store.keys.lease_last)
    lease = store.lease.info()
    problems: list[str] = []
    renewed_ago: float | None = None
    if last.get("renewed_ms"):
        renewed = int(float(last["renewed_ms"]))
        ttl = max(int(float(last.get("expires_ms") or renewed)) - renewed, 1)
        renewed_ago = round((now - renewed) / 1000, 1)
        if now - renewed > RENEWAL_LEASES * ttl and lease.clock is None:
            problems.append(
                f"no clock renewed the lease for {renewed_ago}s (over {RENEWAL_LEASES} leases)"
            )
    else:
        problems.append("no clock has held the lease in this namespace yet")
    ops = Operations(store)
    pauses = ops.pauses()
    overdue = []
    nexts = store.schedules.next_ticks()
    for name, spec in store.schedules.published().items():
        if not spec.enabled or name in pauses or ALL in pauses:
            continue
        tick = nexts.get(name)
        limit = spec.max_lateness_s
        if tick is None or limit is None:
            continue
        if now - tick > limit * 1000:
            late = round((now - tick) / 1000, 1)
            overdue.append(Overdue(schedule=name, tick_ms=tick, late_s=late, max_lateness_s=limit))
            problems.append(
                f"{name}: tick {iso_ms(tick)} is {late}s late (max lateness {limit:g}s)"
            )
    return Health(
        ok=not problems,
        problems=problems,
        active_clock=lease.clock,
        renewed_ago_s=renewed_ago,
        overdue=overdue,
    )

"""Schedules in Redis: each one's high-water mark, and what the active clock publishes.

The high-water mark is the highest tick claimed or recorded: a tick at or below it is
never claimed (`claim.lua`), and ticks above it that passed unfired are an outage.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import redis

from .keys import Keys
from .records import PublishedSchedule
from .scripts import load


@dataclass(frozen=True, kw_only=True)
class Registered:
    now_ms: int
    fence: int  # the fence counter: the next claim's fence is above it
    marks: dict[str, int]  # each schedule's high-water mark


class ScheduleTable:
    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self.redis = client
        self.keys = keys
        self._register = load(client, "register")

    def register(
        self,
        clock_id: str,
        epoch: int,
        schedules: Sequence[tuple[str, bool]],
        *,
        fence_floor: int = 0,
        tick_floors: Mapping[str, int] | None = None,
    ) -> Registered | None:
        """Give new schedules a high-water mark and raise marks and the fence counter to
        the caller's floors; None if the lease is no longer ours."""
        floors = tick_floors or {}
        args: list[Any] = [clock_id, epoch, fence_floor]
        for name, enabled in schedules:
            args += [name, "new" if enabled else "paused", floors.get(name, 0)]
        k = self.keys
        r = self._register(keys=[k.lease, k.hwm, k.fence], args=args)
        if r and r[0] == "stale":
            return None
        marks = {name: int(v) for (name, _), v in zip(schedules, r[2:], strict=True)}
        return Registered(now_ms=int(r[0]), fence=int(r[1]), marks=marks)

    def publish(
        self, table: Mapping[str, PublishedSchedule], next_ticks: Mapping[str, int]
    ) -> None:
        """Describe the running schedules and their next ticks, so `status` can show them
        without the code; one round trip."""
        k = self.keys
        with self.redis.pipeline() as p:
            p.delete(k.schedules)
            if table:
                p.hset(
                    k.schedules,
                    mapping={n: json.dumps(s.to_json(), sort_keys=True) for n, s in table.items()},
                )
            if next_ticks:
                p.hset(k.next, mapping={n: tick for n, tick in next_ticks.items()})
            p.execute()

    def published(self) -> dict[str, PublishedSchedule]:
        raw = self.redis.hgetall(self.keys.schedules)
        return {str(k): PublishedSchedule.from_json(v) for k, v in raw.items()}

    def next_ticks(self) -> dict[str, int]:
        return {str(k): int(v) for k, v in self.redis.hgetall(self.keys.next).items()}

"""Reading the run history and outage windows (writes happen only in the scripts)."""

from __future__ import annotations

from collections.abc import Sequence

import redis

from .keys import Keys
from .records import OutageRecord, RunRecord


class History:
    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self.redis = client
        self.keys = keys

    def runs(self, schedule: str, limit: int = 20) -> list[RunRecord]:
        """Most recent first."""
        k = self.keys
        ticks = [str(t) for t in self.redis.zrevrange(k.ticks(schedule), 0, max(limit, 1) - 1)]
        if not ticks:
            return []
        raw = self.redis.hmget(k.runs(schedule), ticks)
        return [RunRecord.from_json(v) for v in raw if v]

    def record(self, schedule: str, key: int) -> RunRecord | None:
        raw = self.redis.hget(self.keys.runs(schedule), str(key))
        return RunRecord.from_json(raw) if raw else None

    def records(self, schedule: str, keys: Sequence[int]) -> dict[int, RunRecord]:
        if not keys:
            return {}
        raw = self.redis.hmget(self.keys.runs(schedule), [str(k) for k in keys])
        return {k: RunRecord.from_json(v) for k, v in zip(keys, raw, strict=True) if v}

    def oldest_key(self, schedule: str) -> int | None:
        """The oldest record kept: older ones were trimmed (or never were)."""
        first = self.redis.zrange(self.keys.ticks(schedule), 0, 0)
        return int(str(first[0])) if first else None

    def all_runs(self, schedule: str) -> dict[int, RunRecord]:
        """Every record kept, by tick (the soak's checker reads them all)."""
        raw = self.redis.hgetall(self.keys.runs(schedule))
        return {int(t): RunRecord.from_json(v) for t, v in raw.items()}

    def last_runs(self, schedules: Sequence[str]) -> dict[str, RunRecord | None]:
        """The most recent record of each schedule, in two round trips."""
        k = self.keys
        with self.redis.pipeline(transaction=False) as p:
            for name in schedules:
                p.zrevrange(k.ticks(name), 0, 0)
            latest = p.execute()
        with self.redis.pipeline(transaction=False) as p:
            for name, ticks in zip(schedules, latest, strict=True):
                p.hget(k.runs(name), ticks[0] if ticks else "-")
            raw = p.execute()
        return {
            n: (RunRecord.from_json(v) if v else None) for n, v in zip(schedules, raw, strict=True)
        }

    def outages(self, schedule: str, limit: int = 20) -> list[OutageRecord]:
        raw = self.redis.lrange(self.keys.outages(schedule), 0, limit - 1)
        return [OutageRecord.from_json(v) for v in raw]

"""The clock registry: each clock's heartbeat, for operators, and which server it sees.

Heartbeats come every second. A standby's heartbeat also asks which server and data it
talks to (`ServerIdentity`), so it notices a restart, a failover or lost data.
"""

from __future__ import annotations

import json
import os

import redis

from .keys import Keys
from .records import ClockInfo
from .server import ServerIdentity

# Clocks whose heartbeat is older than this are dropped from the registry.
CLOCK_FORGET_MS = 3_600_000


class ClockRegistry:
    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self.redis = client
        self.keys = keys

    def heartbeat(self, info: ClockInfo) -> None:
        self.redis.hset(self.keys.clocks, info.id, json.dumps(info.to_json(), sort_keys=True))

    def heartbeat_and_identify(self, info: ClockInfo) -> ServerIdentity:
        """Record the heartbeat and say which server and data we are talking to."""
        k = self.keys
        with self.redis.pipeline(transaction=False) as p:
            p.hset(k.clocks, info.id, json.dumps(info.to_json(), sort_keys=True))
            p.get(k.generation)
            p.info("server")
            _, generation, server = p.execute(raise_on_error=False)
        if isinstance(server, redis.exceptions.NoPermissionError):
            server = {}
        for value in (generation, server):
            if isinstance(value, Exception):
                raise value
        if generation is None:
            token = os.urandom(8).hex()
            created = self.redis.set(k.generation, token, nx=True)
            generation = token if created else self.redis.get(k.generation)
        now_ms = started_ms = 0
        if "server_time_usec" in server and "uptime_in_seconds" in server:
            # uptime is whole seconds of a clock cached by the server: round up by one
            now_ms = int(server["server_time_usec"]) // 1000
            started_ms = now_ms - int(server["uptime_in_seconds"]) * 1000 + 1000
        return ServerIdentity(
            run_id=server.get("run_id", "-"),
            generation=generation,
            started_ms=started_ms,
            now_ms=now_ms,
        )

    def forget(self, clock_id: str) -> None:
        self.redis.hdel(self.keys.clocks, clock_id)

    def all(self) -> list[ClockInfo]:
        raw = self.redis.hgetall(self.keys.clocks)
        return [ClockInfo.from_json(v) for v in raw.values()]

    def prune(self, now_ms: int) -> None:
        stale = [c.id for c in self.all() if now_ms - c.heartbeat_ms > CLOCK_FORGET_MS]
        if stale:
            self.redis.hdel(self.keys.clocks, *stale)

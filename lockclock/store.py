"""The Redis key layout and every script: the only module that knows key names.

Everything stored is JSON or plain strings (never pickle). Times are Redis server
time in epoch milliseconds, so no host's wall clock takes part in any decision.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

import redis

# How long a release signal waits for a standby to pick it up.
SIGNAL_TTL_MS = 60_000
# Clocks whose heartbeat is older than this are dropped from the registry.
CLOCK_FORGET_MS = 3_600_000


def _load(name: str) -> str:
    return resources.files("lockclock").joinpath("lua", name).read_text()


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


@dataclass(frozen=True, kw_only=True)
class Registered:
    now_ms: int
    fence: int  # the fence counter: the next claim's fence is above it
    marks: dict[str, int]  # each schedule's high-water mark


@dataclass(frozen=True, kw_only=True)
class ClaimResult:
    tick_ms: int
    status: str  # run | missed | dup | old | early
    fence: int


@dataclass(frozen=True, kw_only=True)
class ClaimBatch:
    """The answer to one claim call; `stale` means the lease was not ours."""

    now_ms: int
    results: list[ClaimResult]
    stale: bool = False


class Store:
    """Key names and scripts for one namespace on one Redis."""

    def __init__(self, client: redis.Redis, namespace: str = "lockclock") -> None:
        self.redis = client
        self.ns = namespace
        self._acquire = client.register_script(_load("acquire.lua"))
        self._renew = client.register_script(_load("renew.lua"))
        self._release = client.register_script(_load("release.lua"))
        self._register = client.register_script(_load("register.lua"))
        self._claim = client.register_script(_load("claim.lua"))
        self._finish = client.register_script(_load("finish.lua"))

    # -- key names -------------------------------------------------------------------------

    def key(self, *parts: str) -> str:
        return ":".join((self.ns, *parts))

    @property
    def lease_key(self) -> str:
        return self.key("lease")

    @property
    def signal_key(self) -> str:
        return self.key("lease", "signal")

    @property
    def last_lease_key(self) -> str:
        return self.key("lease", "last")

    def runs_key(self, schedule: str) -> str:
        return self.key("runs", schedule)

    def ticks_key(self, schedule: str) -> str:
        return self.key("ticks", schedule)

    def outages_key(self, schedule: str) -> str:
        return self.key("outages", schedule)

    # -- lease (liveness: who does the work) -----------------------------------------------

    def acquire(self, clock_id: str, ttl_ms: int, *, epoch_floor: int = 0) -> Acquired | Held:
        r = self._acquire(
            keys=[self.lease_key, self.key("epoch"), self.signal_key, self.last_lease_key],
            args=[clock_id, ttl_ms, epoch_floor],
        )
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

    def renew(self, clock_id: str, epoch: int, ttl_ms: int) -> tuple[bool, int]:
        r = self._renew(keys=[self.lease_key, self.last_lease_key], args=[clock_id, epoch, ttl_ms])
        return int(r[0]) == 1, int(r[1])

    def release(self, clock_id: str, epoch: int) -> bool:
        r = self._release(
            keys=[self.lease_key, self.signal_key, self.last_lease_key],
            args=[clock_id, epoch, SIGNAL_TTL_MS],
        )
        return int(r) == 1

    def wait_for_release(self, blocking: redis.Redis, timeout_s: float) -> bool:
        """Block until a holder releases (True) or the timeout passes (False).

        `blocking` must be a client whose socket timeout outlasts `timeout_s`.
        """
        return blocking.blpop([self.signal_key], timeout=max(timeout_s, 0.01)) is not None

    def lease_info(self) -> tuple[dict[str, str], int]:
        """The current holder's fields ({} when none) and the lease's remaining ms."""
        with self.redis.pipeline(transaction=False) as p:
            p.hgetall(self.lease_key)
            p.pttl(self.lease_key)
            cur, pttl = p.execute()
        return cur or {}, int(pttl)

    # -- the clock registry (for operators) ------------------------------------------------

    def heartbeat(self, clock_id: str, info: dict[str, Any]) -> None:
        self.redis.hset(self.key("clocks"), clock_id, json.dumps(info, sort_keys=True))

    def heartbeat_and_identify(self, clock_id: str, info: dict[str, Any]) -> ServerIdentity:
        """Record the heartbeat and say which server and data we are talking to."""
        with self.redis.pipeline(transaction=False) as p:
            p.hset(self.key("clocks"), clock_id, json.dumps(info, sort_keys=True))
            p.get(self.key("generation"))
            p.info("server")
            _, generation, server = p.execute(raise_on_error=False)
        if isinstance(server, redis.exceptions.NoPermissionError):
            server = {}
        for value in (generation, server):
            if isinstance(value, Exception):
                raise value
        if generation is None:
            token = os.urandom(8).hex()
            created = self.redis.set(self.key("generation"), token, nx=True)
            generation = token if created else self.redis.get(self.key("generation"))
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

    def forget_clock(self, clock_id: str) -> None:
        self.redis.hdel(self.key("clocks"), clock_id)

    def clocks(self) -> list[dict[str, Any]]:
        raw = self.redis.hgetall(self.key("clocks"))
        return [json.loads(v) for v in raw.values()]

    def prune_clocks(self, now_ms: int) -> None:
        stale = [
            cid
            for cid, raw in self.redis.hgetall(self.key("clocks")).items()
            if now_ms - int(json.loads(raw).get("heartbeat_ms", 0)) > CLOCK_FORGET_MS
        ]
        if stale:
            self.redis.hdel(self.key("clocks"), *stale)

    # -- schedules ------------------------------------------------------------------------

    def register(
        self,
        clock_id: str,
        epoch: int,
        schedules: Sequence[tuple[str, bool]],
        *,
        fence_floor: int = 0,
        tick_floors: dict[str, int] | None = None,
    ) -> Registered | None:
        """Give new schedules a high-water mark and raise marks and the fence counter to
        the caller's floors; None if the lease is no longer ours."""
        floors = tick_floors or {}
        args: list[Any] = [clock_id, epoch, fence_floor]
        for name, enabled in schedules:
            args += [name, "new" if enabled else "paused", floors.get(name, 0)]
        r = self._register(keys=[self.lease_key, self.key("hwm"), self.key("fence")], args=args)
        if r and r[0] == "stale":
            return None
        marks = {name: int(v) for (name, _), v in zip(schedules, r[2:], strict=True)}
        return Registered(now_ms=int(r[0]), fence=int(r[1]), marks=marks)

    def publish_schedules(
        self, table: dict[str, dict[str, Any]], next_ticks: dict[str, int]
    ) -> None:
        """Describe the running schedules and their next ticks, so `status` can show them
        without the code; one round trip."""
        key = self.key("schedules")
        with self.redis.pipeline() as p:
            p.delete(key)
            if table:
                p.hset(key, mapping={k: json.dumps(v, sort_keys=True) for k, v in table.items()})
            if next_ticks:
                p.hset(self.key("next"), mapping={k: v for k, v in next_ticks.items()})
            p.execute()

    def schedules(self) -> dict[str, dict[str, Any]]:
        raw = self.redis.hgetall(self.key("schedules"))
        return {str(k): json.loads(v) for k, v in raw.items()}

    def next_ticks(self) -> dict[str, int]:
        return {str(k): int(v) for k, v in self.redis.hgetall(self.key("next")).items()}

    # -- claims (safety: at most one dispatch per tick) -------------------------------------

    def _claim_call(
        self,
        client: Any,
        *,
        clock_id: str,
        epoch: int,
        schedule: str,
        items: Iterable[tuple[int, str]],
        history_limit: int,
        next_tick_ms: int | None,
        outage: dict[str, Any] | None,
        fence_floor: int,
    ) -> Any:
        args: list[Any] = [
            clock_id,
            epoch,
            schedule,
            history_limit,
            "" if next_tick_ms is None else next_tick_ms,
            "" if outage is None else json.dumps(outage, sort_keys=True),
            fence_floor,
        ]
        for tick, action in items:
            args += [tick, action]
        keys = [
            self.lease_key,
            self.key("fence"),
            self.key("hwm"),
            self.runs_key(schedule),
            self.ticks_key(schedule),
            self.key("next"),
            self.outages_key(schedule),
        ]
        return self._claim(keys=keys, args=args, client=client)

    @staticmethod
    def _parse_claim(r: Sequence[Any]) -> ClaimBatch:
        if r and r[0] == "stale":
            return ClaimBatch(now_ms=0, results=[], stale=True)
        out = [
            ClaimResult(tick_ms=int(r[i]), status=str(r[i + 1]), fence=int(r[i + 2]))
            for i in range(1, len(r), 3)
        ]
        return ClaimBatch(now_ms=int(r[0]), results=out)

    def claim_many(
        self,
        clock_id: str,
        epoch: int,
        requests: Sequence[dict[str, Any]],
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
                self._claim_call(p, clock_id=clock_id, epoch=epoch, fence_floor=fence_floor, **req)
            raw = p.execute()
        return [self._parse_claim(r) for r in raw]

    def wait_replicas(self, replicas: int, timeout_ms: int) -> int:
        """Block until `replicas` replicas have our writes so far (or the timeout);
        return how many did."""
        return int(self.redis.wait(replicas, timeout_ms))

    def finish(self, schedule: str, tick_ms: int, fence: int, fields: dict[str, Any]) -> str:
        return str(
            self._finish(
                keys=[self.runs_key(schedule)],
                args=[tick_ms, fence, json.dumps(fields, sort_keys=True)],
            )
        )

    # -- history ---------------------------------------------------------------------------

    def history(self, schedule: str, limit: int = 20) -> list[dict[str, Any]]:
        """Most recent first."""
        ticks = [
            str(t) for t in self.redis.zrevrange(self.ticks_key(schedule), 0, max(limit, 1) - 1)
        ]
        if not ticks:
            return []
        raw = self.redis.hmget(self.runs_key(schedule), ticks)
        return [json.loads(v) for v in raw if v]

    def last_runs(self, schedules: Sequence[str]) -> dict[str, dict[str, Any] | None]:
        """The most recent record of each schedule, in two round trips."""
        with self.redis.pipeline(transaction=False) as p:
            for name in schedules:
                p.zrevrange(self.ticks_key(name), 0, 0)
            latest = p.execute()
        with self.redis.pipeline(transaction=False) as p:
            for name, ticks in zip(schedules, latest, strict=True):
                p.hget(self.runs_key(name), ticks[0] if ticks else "-")
            raw = p.execute()
        return {n: (json.loads(v) if v else None) for n, v in zip(schedules, raw, strict=True)}

    def outages(self, schedule: str, limit: int = 20) -> list[dict[str, Any]]:
        return [json.loads(v) for v in self.redis.lrange(self.outages_key(schedule), 0, limit - 1)]

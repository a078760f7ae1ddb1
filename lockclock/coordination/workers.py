"""The worker registry: each worker's lease on itself (a score in {ns}:workers), what it
consumes, and what it runs. An inline clock registers as a worker too."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

import redis

from .keys import Keys
from .runs import GROUP
from .scripts import load


@dataclass(frozen=True, kw_only=True)
class WorkerInfo:
    id: str
    host: str
    pid: int
    queues: list[str]
    concurrency: int | None  # None: as many as are claimed (an inline clock)
    running: int
    started_ms: int
    kind: str = "worker"  # or "clock" (inline)
    dyno: str | None = None
    version: str = ""


@dataclass(frozen=True, kw_only=True)
class QueueDepth:
    queue: str
    waiting: int  # not yet read by any worker
    read: int  # read by a worker: running, or starting
    oldest_waiting_ms: int | None  # when the oldest waiting entry was added


@dataclass(frozen=True, kw_only=True)
class WorkerView:
    info: WorkerInfo
    lease_expires_ms: int
    beat_ms: int  # its last heartbeat, Redis time
    runs: int  # runs it holds, by the registry


PENDING_PAGE = 100  # entries read per queue and pass; the reaper comes back for more


@dataclass(frozen=True, kw_only=True)
class Holdings:
    """What Redis says a worker holds: its runs ("schedule<TAB>tick") and, per queue,
    the entries it read and has not acknowledged (at most PENDING_PAGE of each)."""

    runs: list[str]
    pending: dict[str, list[str]]

    @property
    def count(self) -> int:
        return len(self.runs) + sum(len(entries) for entries in self.pending.values())


def read_holdings(
    client: redis.Redis, keys: Keys, worker_id: str, queues: Sequence[str]
) -> Holdings:
    """One round trip; a queue with no stream or group yet has nothing pending."""
    with client.pipeline(transaction=False) as p:
        p.smembers(keys.worker_runs(worker_id))
        for q in queues:
            p.xpending_range(
                keys.queue(q), GROUP, min="-", max="+", count=PENDING_PAGE, consumername=worker_id
            )
        answers: list[Any] = p.execute(raise_on_error=False)
    members, *per_queue = answers
    if isinstance(members, Exception):
        raise members
    pending = {  # an error answer is NOGROUP: no stream or group yet, nothing pending
        q: [str(item["message_id"]) for item in entries]
        for q, entries in zip(queues, per_queue, strict=True)
        if not isinstance(entries, Exception)
    }
    return Holdings(runs=sorted(str(m) for m in members), pending=pending)


class WorkerRegistry:
    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self.redis = client
        self.keys = keys
        self._beat = load(client, "beat")

    def beat(self, info: WorkerInfo, ttl_ms: int, *, register: bool = False) -> tuple[bool, int]:
        """Register, or renew the lease; (still ours, Redis time). A lease the reaper took
        is not renewed: the worker must come back under a new id."""
        k = self.keys
        keys = [k.workers, k.worker(info.id), k.reachable_seen, k.reachable_since]
        args: list[str | int] = [
            info.id,
            ttl_ms,
            json.dumps(asdict(info), sort_keys=True),
            int(register),
        ]
        if not register:  # a plain call: in a pipeline, redis-py asks SCRIPT EXISTS first
            r = self._beat(keys=keys, args=args)
            return int(r[0]) == 1, int(r[1])
        with self.redis.pipeline(transaction=False) as p:
            self._beat(keys=keys, args=args, client=p)
            p.hset(k.worker(info.id), "queues", ",".join(info.queues))
            r = p.execute()[0]
        return int(r[0]) == 1, int(r[1])

    def deregister(self, worker_id: str, queues: Sequence[str]) -> int:
        """A clean exit, once every run it held ended or was handed back; return how
        many runs or read entries Redis still says it holds (0: it is gone).

        Redis can say so when a crash forgot an outcome the worker wrote. Those are
        left to the reaper: the lease is marked reaped-lapsed (score 0), so the active
        clock hands them on at once and then forgets the worker. Removing it would
        leave them running forever, and an overlap="skip" schedule skipping behind."""
        k = self.keys
        held = read_holdings(self.redis, k, worker_id, queues).count
        if held:
            self.redis.zadd(k.workers, {worker_id: 0})
            return held
        remove_worker(self.redis, k, worker_id, queues)
        return 0

    def all(self) -> list[WorkerView]:
        k = self.keys
        raw_leases: Any = self.redis.zrange(k.workers, 0, -1, withscores=True)
        leases = [(str(w), float(s)) for w, s in raw_leases]
        if not leases:
            return []
        with self.redis.pipeline(transaction=False) as p:
            for wid, _ in leases:
                p.hmget(k.worker(wid), "info", "beat_ms")
                p.scard(k.worker_runs(wid))
            raw = p.execute()
        out = []
        for i, (_, score) in enumerate(leases):
            (info_raw, beat), runs = raw[2 * i], raw[2 * i + 1]
            if not info_raw:
                continue
            info = WorkerInfo(**json.loads(info_raw))
            out.append(
                WorkerView(
                    info=info, lease_expires_ms=int(score), beat_ms=int(beat or 0), runs=int(runs)
                )
            )
        return out

    def queue_depths(self, queues: Sequence[str]) -> dict[str, QueueDepth]:
        """Per queue: entries waiting for a worker, entries read (running or starting),
        and the oldest waiting entry's enqueue time (from its id), in one round trip."""
        k = self.keys
        with self.redis.pipeline(transaction=False) as p:
            for q in queues:
                p.xlen(k.queue(q))
                p.xinfo_groups(k.queue(q))
            raw = p.execute(raise_on_error=False)
        depths: dict[str, QueueDepth] = {}
        firsts: list[tuple[str, str]] = []
        for i, q in enumerate(queues):
            length, groups = raw[2 * i], raw[2 * i + 1]
            if isinstance(length, Exception) or isinstance(groups, Exception):
                depths[q] = QueueDepth(queue=q, waiting=0, read=0, oldest_waiting_ms=None)
                continue
            group = next((g for g in groups if g["name"] == GROUP), None)
            read = int(group["pending"]) if group else 0
            last = str(group["last-delivered-id"]) if group else "0-0"
            depths[q] = QueueDepth(
                queue=q, waiting=int(length) - read, read=read, oldest_waiting_ms=None
            )
            if int(length) - read > 0:
                firsts.append((q, last))
        if firsts:
            with self.redis.pipeline(transaction=False) as p:
                for q, last in firsts:
                    p.xrange(k.queue(q), f"({last}", "+", count=1)
                found: Any = p.execute()
            for (q, _), entries in zip(firsts, found, strict=True):
                if entries:
                    oldest = int(str(entries[0][0]).split("-")[0])
                    depths[q] = replace(depths[q], oldest_waiting_ms=oldest)
        return depths


def remove_worker(client: redis.Redis, keys: Keys, worker_id: str, queues: Sequence[str]) -> None:
    """Every trace of a worker that holds nothing: its lease, info, runs set and its
    consumers in its queues' groups (a clean exit, or the reaper forgetting it)."""
    with client.pipeline(transaction=False) as p:
        p.zrem(keys.workers, worker_id)
        p.delete(keys.worker(worker_id), keys.worker_runs(worker_id))
        for q in queues:
            p.xgroup_delconsumer(keys.queue(q), GROUP, worker_id)
        p.execute(raise_on_error=False)

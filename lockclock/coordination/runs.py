"""A worker's side of a run: reading deliveries, starting an attempt, recording how it
ended, handing it back. Every write is a script that checks the attempt's fence and
owner, and acknowledges (and deletes) stream entries only there: a dead worker's late
XACK, or a bare XCLAIM, can never touch another's copy.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, cast

import redis

from .keys import Keys
from .scripts import load

GROUP = "lockclock"
FinishResult = Literal["ok", "retry", "gone", "fenced", "final"]


@dataclass(frozen=True, kw_only=True)
class Successor:
    """The waiting run an inline worker's outcome just started, for that worker to run."""

    tick_ms: int
    fence: int
    attempt: int
    claimed_by: str
    epoch: int
    now_ms: int
    for_tick_ms: int | None = None
    trigger: str = "tick"


@dataclass(frozen=True, kw_only=True)
class Finished:
    result: FinishResult
    successor: Successor | None = None


StartRefusal = Literal["missed", "stale", "gone", "unregistered"]


@dataclass(frozen=True, kw_only=True)
class Delivery:
    """One stream entry: an attempt of a run, delivered to this worker."""

    queue: str
    entry: str
    schedule: str
    tick_ms: int
    attempt: int
    fence: int


@dataclass(frozen=True, kw_only=True)
class Started:
    fence: int
    attempt: int
    enqueued_ms: int
    claimed_by: str
    epoch: int
    started_ms: int
    now_ms: int
    claim_late_ms: int  # from the tick to its claim
    progress_json: str | None  # what an earlier attempt saved
    for_tick_ms: int | None = None  # a backfill run: the tick it replays
    trigger: str = "tick"


def parse_entry(queue: str, entry: str, fields: dict[str, str]) -> Delivery:
    return Delivery(
        queue=queue,
        entry=entry,
        schedule=fields["schedule"],
        tick_ms=int(fields["tick"]),
        attempt=int(fields["attempt"]),
        fence=int(fields["fence"]),
    )


class Runs:
    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self.redis = client
        self.keys = keys
        self._start = load(client, "start")
        self._finish = load(client, "finish")
        self._handback = load(client, "handback")
        self._release = load(client, "release_run")
        self._release_entry = load(client, "release_entry")
        self._progress = load(client, "progress")
        self._stop = load(client, "stop")
        self._unblock = load(client, "unblock")

    def ensure_groups(self, queues: Iterable[str]) -> None:
        """Create each queue's consumer group from the stream's start (id 0), so runs
        enqueued before any worker existed are delivered too."""
        for queue in queues:
            try:
                self.redis.xgroup_create(self.keys.queue(queue), GROUP, id="0", mkstream=True)
            except redis.ResponseError as exc:
                if "BUSYGROUP" not in str(exc):
                    raise

    def read(
        self,
        blocking: redis.Redis,
        worker_id: str,
        queues: Sequence[str],
        *,
        count: int,
        block_ms: int,
    ) -> list[Delivery]:
        """New entries for this worker (it becomes their consumer), waiting up to
        `block_ms`; `blocking` must be a client whose socket timeout outlasts that."""
        streams: Any = {self.keys.queue(q): ">" for q in queues}
        by_key = {self.keys.queue(q): q for q in queues}
        raw: Any = blocking.xreadgroup(GROUP, worker_id, streams, count=count, block=block_ms)
        out: list[Delivery] = []
        for stream, entries in raw or []:
            for entry, fields in entries:
                out.append(parse_entry(by_key[str(stream)], str(entry), dict(fields)))
        return out

    def start(self, worker_id: str, d: Delivery) -> Started | StartRefusal:
        k = self.keys
        r = self._start(
            keys=[
                k.runs(d.schedule),
                k.active(d.schedule),
                k.queue(d.queue),
                k.workers,
                k.worker_runs(worker_id),
            ],
            args=[d.schedule, d.tick_ms, d.entry, worker_id],
        )
        if r[0] != "run":
            return cast(StartRefusal, str(r[0]))
        return Started(
            fence=int(r[1]),
            attempt=int(r[2]),
            enqueued_ms=int(r[3]),
            claimed_by=str(r[4]),
            epoch=int(r[5]),
            started_ms=int(r[6]),
            now_ms=int(r[7]),
            claim_late_ms=int(r[8]),
            progress_json=str(r[9]) or None,
            for_tick_ms=int(r[10]) if len(r) > 10 and str(r[10]) else None,
            trigger=str(r[11]) if len(r) > 11 else "tick",
        )

    def finish(
        self,
        worker_id: str,
        *,
        schedule: str,
        queue: str,
        tick_ms: int,
        fence: int,
        fields: dict[str, Any],
    ) -> Finished:
        k = self.keys
        r = self._finish(
            keys=[
                k.runs(schedule),
                k.active(schedule),
                k.queue(queue),
                k.worker_runs(worker_id),
                k.delayed,
            ],
            args=[tick_ms, fence, worker_id, json.dumps(fields, sort_keys=True)],
        )
        successor = None
        if len(r) > 1:
            successor = Successor(
                tick_ms=int(r[1]),
                fence=int(r[2]),
                attempt=int(r[3]),
                claimed_by=str(r[4]),
                epoch=int(r[5]),
                now_ms=int(r[6]),
                for_tick_ms=int(r[7]) if len(r) > 7 and str(r[7]) else None,
                trigger=str(r[8]) if len(r) > 8 else "tick",
            )
        return Finished(result=cast(FinishResult, str(r[0])), successor=successor)

    def handback(
        self,
        worker_id: str,
        *,
        schedule: str,
        queue: str,
        tick_ms: int,
        fence: int,
        delay_ms: int,
        why: str,
    ) -> bool:
        k = self.keys
        result = self._handback(
            keys=[k.runs(schedule), k.queue(queue), k.worker_runs(worker_id), k.delayed],
            args=[tick_ms, fence, worker_id, delay_ms, why],
        )
        return str(result) == "ok"

    def held(self, worker_id: str) -> list[tuple[str, int]]:
        """The runs Redis says this worker runs."""
        members = self.redis.smembers(self.keys.worker_runs(worker_id))
        out = []
        for m in members:
            schedule, _, tick = str(m).rpartition("\t")
            out.append((schedule, int(tick)))
        return out

    def release(
        self, worker_id: str, *, schedule: str, queue: str, tick_ms: int, grace_ms: int
    ) -> str:
        k = self.keys
        return str(
            self._release(
                keys=[
                    k.runs(schedule),
                    k.active(schedule),
                    k.queue(queue),
                    k.worker_runs(worker_id),
                    k.delayed,
                ],
                args=[tick_ms, worker_id, grace_ms, f"{schedule}\t{tick_ms}"],
            )
        )

    def unstarted(self, worker_id: str, queue: str, idle_ms: int) -> list[Delivery]:
        """Entries this worker read over `idle_ms` ago and still holds (its pending list)."""
        key = self.keys.queue(queue)
        try:
            pending: Any = self.redis.xpending_range(
                key, GROUP, min="-", max="+", count=100, consumername=worker_id, idle=idle_ms
            )
        except redis.ResponseError:  # no such stream or group (Redis lost it): nothing held
            return []
        out = []
        for item in pending:
            found: Any = self.redis.xrange(key, item["message_id"], item["message_id"])
            if found:
                out.append(parse_entry(queue, str(found[0][0]), dict(found[0][1])))
            else:
                self.redis.xack(key, GROUP, item["message_id"])  # deleted already
        return out

    def release_entry(self, d: Delivery) -> str:
        k = self.keys
        return str(
            self._release_entry(
                keys=[k.runs(d.schedule), k.queue(d.queue), k.delayed],
                args=[d.tick_ms, d.entry, f"{d.schedule}\t{d.tick_ms}"],
            )
        )

    def save_progress(
        self,
        worker_id: str,
        *,
        schedule: str,
        tick_ms: int,
        fence: int,
        value_json: str,
        max_bytes: int,
    ) -> str:
        """'ok', 'fenced' (not this attempt's to write) or 'too_large'."""
        r = self._progress(
            keys=[self.keys.runs(schedule)],
            args=[tick_ms, fence, worker_id, value_json, max_bytes],
        )
        return str(r[0])

    def request_stop(
        self, *, schedule: str, queue: str, tick_ms: int, reason: str, by: str,
        source: str = "python",
    ) -> str:  # fmt: skip
        """Ask a run to stop: 'requested' (running), 'cancelled' (not started: ended now)
        or 'ended' (nothing to stop). Audited."""
        k = self.keys
        return str(
            self._stop(
                keys=[k.runs(schedule), k.active(schedule), k.queue(queue), k.audit],
                args=[tick_ms, reason, by, source],
            )
        )

    def stops_for(self, runs: Iterable[tuple[str, int]]) -> dict[tuple[str, int], dict[str, Any]]:
        """The stop requests recorded for these runs (one round trip)."""
        wanted = list(runs)
        if not wanted:
            return {}
        with self.redis.pipeline(transaction=False) as p:
            for schedule, tick in wanted:
                p.hget(self.keys.runs(schedule), str(tick))
            raw = p.execute()
        out = {}
        for key, value in zip(wanted, raw, strict=True):
            if value:
                stop = json.loads(value).get("stop")
                if stop:
                    out[key] = stop
        return out

    def unblock(self, worker_id: str, *, schedule: str, queue: str, tick_ms: int) -> str:
        k = self.keys
        return str(
            self._unblock(
                keys=[
                    k.runs(schedule),
                    k.active(schedule),
                    k.queue(queue),
                    k.worker_runs(worker_id),
                ],
                args=[tick_ms, worker_id],
            )
        )

    def wait_replicas(self, replicas: int, timeout_ms: int) -> int:
        return int(self.redis.wait(replicas, timeout_ms))

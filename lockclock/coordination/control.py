"""Operators' changes, as scripts: a pause, its end, a request for the active clock, and
the active clock's answer to it (`grant.lua`). Each one appends to the audit stream in
the same step (`audit.lua`), so the log never disagrees with what happened.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, cast

import redis

from .keys import Keys
from .records import CatchupOnResume, GrantedRun, Pause, Request, RunPolicy
from .scripts import load

REQUEST_TTL_S = 7 * 86400  # a request and its answer stay readable for a week
IDEMPOTENCY_TTL_S = 86400  # an Idempotency-Key is honoured for a day
AUDIT_RETENTION = 10_000  # entries (approximate trimming, in audit.lua)

PauseAnswer = Literal["paused", "updated"]
GrantState = Literal["done", "refused", "stale", "gone"]


@dataclass(frozen=True, kw_only=True)
class Actor:
    """Who asked, from where, and why: what the audit stream keeps of every change."""

    actor: str
    source: str  # cli, http, python
    reason: str = ""


@dataclass(frozen=True, kw_only=True)
class AuditEntry:
    id: str
    ms: int
    action: str
    target: str
    actor: str = ""
    source: str = ""
    reason: str = ""
    detail: str = ""

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v != ""}


@dataclass(frozen=True, kw_only=True)
class Granted:
    state: GrantState
    now_ms: int = 0
    error: str = ""
    runs: tuple[GrantedRun, ...] = ()


class ControlStore:
    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self.redis = client
        self.keys = keys
        self._pause = load(client, "pause")
        self._resume = load(client, "resume")
        self._request = load(client, "request")
        self._grant = load(client, "grant")
        self._forget = load(client, "forget")

    # -- operators -----------------------------------------------------------------------

    def pause(self, target: str, who: Actor, until_ms: int | None) -> tuple[PauseAnswer, int]:
        k = self.keys
        r = self._pause(
            keys=[k.paused, k.audit],
            args=[target, who.reason, who.actor, who.source, "" if until_ms is None else until_ms],
        )
        return cast(PauseAnswer, str(r[0])), int(r[1])

    def resume(self, target: str, catchup: CatchupOnResume, who: Actor) -> str | None:
        """End the pause of `target`; the id of the request that closes its spans (and
        runs their ticks, with catch-up), or None when it was not paused."""
        request_id = new_request_id()
        k = self.keys
        r = self._resume(
            keys=[k.paused, k.audit, k.requests, k.request(request_id)],
            args=[target, catchup, who.actor, who.source, who.reason, request_id, REQUEST_TTL_S],
        )
        return str(r[1]) if r[0] == "resumed" else None

    def request(
        self, kind: Literal["trigger", "backfill"], schedule: str, who: Actor, *,
        force: bool = False, idempotency_key: str | None = None, **extra: Any,
    ) -> tuple[str, bool]:  # fmt: skip
        """Queue a request for the active clock; its id, and whether it is new (False:
        the idempotency key had made it already)."""
        request_id = new_request_id()
        k = self.keys
        body = {
            "kind": kind,
            "schedule": schedule,
            "force": force,
            "actor": who.actor,
            "source": who.source,
            "reason": who.reason,
            **extra,
        }
        r = self._request(
            keys=[
                k.requests,
                k.request(request_id),
                k.idempotency(idempotency_key or "-"),
                k.audit,
            ],
            args=[
                request_id,
                json.dumps(body, sort_keys=True),
                REQUEST_TTL_S,
                IDEMPOTENCY_TTL_S if idempotency_key else "",
            ],
        )
        return str(r[1]), r[0] == "queued"

    def forget(self, schedule: str, who: Actor) -> tuple[str, int]:
        """('forgotten', records removed), ('published', 0) or ('running', runs)."""
        k = self.keys
        r = self._forget(
            keys=[
                k.schedules,
                k.hwm,
                k.next,
                k.paused,
                k.runs(schedule),
                k.ticks(schedule),
                k.active(schedule),
                k.outages(schedule),
                k.stats(schedule),
                k.audit,
            ],
            args=[schedule, who.actor, who.source, who.reason],
        )
        return _text(r[0]), int(r[1]) if len(r) > 1 else 0

    def known_names(self) -> set[str]:
        """Every schedule with records in this namespace, published or not."""
        prefix = self.keys.ticks("")
        return {
            _text(key)[len(prefix) :]
            for key in self.redis.scan_iter(match=_glob_escape(prefix) + "*", count=500)
        }

    def get_request(self, request_id: str) -> Request | None:
        raw = self.redis.get(self.keys.request(request_id))
        return Request.from_json(raw) if raw else None

    def pauses(self) -> dict[str, Pause]:
        raw = self.redis.hgetall(self.keys.paused)
        return {_text(t): Pause.from_json(_text(t), v) for t, v in raw.items()}

    def audit(self, *, limit: int = 50, target: str | None = None) -> list[AuditEntry]:
        """Newest first; with `target`, that schedule's actions and those on all."""
        out: list[AuditEntry] = []
        last = "+"
        while len(out) < limit:
            batch: list[Any] = list(
                self.redis.xrevrange(self.keys.audit, max=last, count=max(limit * 2, 100)) or []
            )
            if last != "+":
                batch = batch[1:]
            if not batch:
                break
            for entry_id, fields in batch:
                f = {_text(a): _text(b) for a, b in (fields or {}).items()}
                if target is not None and f.get("target") not in (target, "*"):
                    continue
                out.append(
                    AuditEntry(
                        id=_text(entry_id),
                        ms=int(f.get("ms") or 0),
                        action=f.get("action", ""),
                        target=f.get("target", ""),
                        actor=f.get("actor", ""),
                        source=f.get("source", ""),
                        reason=f.get("reason", ""),
                        detail=f.get("detail", ""),
                    )
                )
                if len(out) >= limit:
                    break
            last = _text(batch[-1][0])
        return out

    # -- the active clock -----------------------------------------------------------------

    def pending(self, limit: int = 20) -> list[str]:
        return [_text(x) for x in self.redis.lrange(self.keys.requests, 0, limit - 1)]

    def refuse(self, request_id: str, error: str) -> None:
        """The active clock refuses a request before granting anything (a backfill's
        range too large); only the lease holder answers requests, so nobody races it."""
        raw = self.redis.get(self.keys.request(request_id))
        if raw:
            req = json.loads(raw)
            req.update(state="refused", error=error)
            with self.redis.pipeline() as p:
                p.set(self.keys.request(request_id), json.dumps(req), keepttl=True)
                p.lrem(self.keys.requests, 0, request_id)
                p.execute()
        else:
            self.drop(request_id)

    def drop(self, request_id: str) -> None:
        self.redis.lrem(self.keys.requests, 0, request_id)

    def grant(
        self,
        *,
        clock_id: str,
        epoch: int,
        request_id: str,
        schedule: str,
        policy: RunPolicy,
        force: bool,
        fence_floor: int,
        worker: str,
        span_key: int | None,
        final: bool,
        ticks: Sequence[int] = (),
        plan: list[dict[str, Any]] | None = None,
    ) -> Granted:
        k = self.keys
        r = self._grant(
            keys=[
                k.lease,
                k.fence,
                k.runs(schedule),
                k.ticks(schedule),
                k.active(schedule),
                k.queue(policy.queue),
                k.worker_runs(worker or "-"),
                k.request(request_id),
                k.requests,
            ],
            args=[
                clock_id,
                epoch,
                request_id,
                schedule,
                json.dumps(policy.to_json(), sort_keys=True),
                "1" if force else "",
                fence_floor,
                worker,
                "" if span_key is None else span_key,
                "1" if final else "",
                "" if plan is None else json.dumps(plan),
                *ticks,
            ],
        )
        state = cast(GrantState, _text(r[0]))
        if state in ("stale", "gone"):
            return Granted(state=state)
        runs = tuple(
            GrantedRun(
                tick=int(r[i]),
                fence=int(r[i + 1]),
                note=_text(r[i + 2]),
                for_tick=int(r[i + 3]) if _text(r[i + 3]) else None,
            )
            for i in range(3, len(r), 4)
        )
        return Granted(state=state, now_ms=int(r[1]), error=_text(r[2]), runs=runs)


def new_request_id() -> str:
    return uuid.uuid4().hex[:16]


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _glob_escape(text: str) -> str:
    """For SCAN MATCH: a namespace may hold glob characters."""
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)

"""The operators' control API, behind both the CLI and HTTP: pause, resume, trigger,
cancel, and the audit log. Every change goes through Redis (a script that also appends
to the audit stream), so every clock honours it at its next claim: a pause holds from
the next due tick, a trigger is granted by the active clock within a renewal.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol, cast

from ..coordination.control import Actor, AuditEntry
from ..coordination.records import CatchupOnResume, Pause, PublishedSchedule, Request, RunRecord
from ..coordination.store import Store
from ..errors import LockclockError
from .read_model import UnknownSchedule

StopAnswer = Literal["requested", "cancelled", "ended"]
ALL = "*"


class RequestRefused(LockclockError):
    """The active clock refused the request (the overlap policy, most often)."""


class NotAnswered(LockclockError):
    """No active clock answered within the wait: the request stays queued."""


NO_TOKEN = "no SENTRY_AUTH_TOKEN"
NO_MONITOR = "no Sentry monitor: the active clock reports none for it"


@dataclass(frozen=True, kw_only=True)
class SentryMute:
    done: bool  # the monitors were muted through Sentry's API
    note: str = ""  # why not


@dataclass(frozen=True, kw_only=True)
class PauseResult:
    target: str
    how: Literal["paused", "updated"]
    since_ms: int
    sentry: SentryMute


@dataclass(frozen=True, kw_only=True)
class BackfillProgress:
    total: int
    ended: int
    ok: int
    failed: list[RunRecord]

    @property
    def done(self) -> bool:
        return self.ended >= self.total


def request_stop(
    store: Store, schedule: str, tick_ms: int, *, reason: str, by: str, source: str = "python"
) -> StopAnswer:
    """Ask a run to stop: its job's `stop_requested` turns true within a heartbeat, and
    one that stops (`raise_if_stopping`) is recorded `cancelled`; a run not yet started
    ends `cancelled` at once. 'ended': it had ended already."""
    rec = store.history.record(schedule, tick_ms)
    if rec is None:
        raise LockclockError(f"no run of {schedule!r} at tick {tick_ms} in namespace {store.ns!r}")
    answer = store.runs.request_stop(
        schedule=schedule,
        queue=rec.queue or "default",
        tick_ms=tick_ms,
        reason=reason,
        by=by,
        source=source,
    )
    return cast(StopAnswer, answer)


class Muter(Protocol):
    def set_muted(self, slug: str, muted: bool) -> str | None: ...


class Operations:
    """`muter` mutes the schedules' Sentry monitors for a pause (sentry/mute.py)."""

    def __init__(self, store: Store, *, muter: Muter | None = None) -> None:
        self.store = store
        self.muter = muter

    def published(self, name: str) -> PublishedSchedule:
        table = self.store.schedules.published()
        if name not in table:
            names = ", ".join(sorted(table)) or "none yet"
            raise UnknownSchedule(
                f"no schedule named {name!r} in namespace {self.store.ns!r} (known: {names}); "
                "a clock publishes its schedules when it becomes active"
            )
        return table[name]

    # -- pause and resume ----------------------------------------------------------------

    def pause(self, name: str | None, *, who: Actor, until: datetime | None = None) -> PauseResult:
        """Pause one schedule, or all (`name=None`): no tick of it is claimed until
        `resume` (or `until`); its due ticks are kept as one span in its history."""
        _need_reason(who, "pause")
        target = ALL if name is None else name
        if name is not None:
            self.published(name)
        until_ms = None
        if until is not None:
            if until.tzinfo is None:
                raise LockclockError("--until needs a time zone, e.g. 2026-12-02T08:00:00Z")
            until_ms = int(until.timestamp() * 1000)
            if until_ms <= self.store.server_ms():
                raise LockclockError(f"--until {until.isoformat()} has passed: give a later time")
        how, since = self.store.control.pause(target, who, until_ms)
        return PauseResult(
            target=target, how=how, since_ms=since, sentry=self._mute(target, muted=True)
        )

    def _mute(self, target: str, *, muted: bool) -> SentryMute:
        """Mute (or unmute) the monitors the active clock published: a schedule's own slug
        (`monitor="..."`) included; a schedule without one has nothing to mute."""
        table = self.store.schedules.published()
        names = sorted(table) if target == ALL else [target]
        slugs = [slug for n in names if n in table and (slug := table[n].monitor)]
        if not slugs:
            return SentryMute(done=False, note=NO_MONITOR)
        if self.muter is None:
            return SentryMute(done=False, note=NO_TOKEN)
        problems = [p for slug in slugs if (p := self.muter.set_muted(slug, muted))]
        return SentryMute(done=not problems, note="; ".join(problems))

    def resume(self, name: str | None, *, who: Actor, catchup: CatchupOnResume = "skip") -> str:
        """End a pause; the id of the request with which the active clock closes its span
        (and, with catch-up `latest` or `all`, runs the span's ticks)."""
        target = ALL if name is None else name
        request_id = self.store.control.resume(target, catchup, who)
        if request_id is not None and self.muter is not None:
            self._mute(target, muted=False)
        if request_id is None:
            pauses = self.store.control.pauses()
            if name is not None and ALL in pauses:
                raise LockclockError(
                    f"{name!r} is paused by `pause --all`, not on its own: "
                    "run `lockclock resume --all`"
                )
            what = "all schedules are" if name is None else f"{name!r} is"
            raise LockclockError(f"{what} not paused (nothing to resume)")
        return request_id

    def pauses(self) -> dict[str, Pause]:
        now = self.store.server_ms()
        return {t: p for t, p in self.store.control.pauses().items() if p.in_force(now)}

    def pause_of(self, name: str) -> Pause | None:
        pauses = self.pauses()
        return pauses.get(name) or pauses.get(ALL)

    # -- runs ------------------------------------------------------------------------------

    def trigger(
        self, name: str, *, who: Actor, force: bool = False, idempotency_key: str | None = None
    ) -> tuple[str, bool]:
        """Ask for a run of `name` now; the request's id, and False if the idempotency
        key had made it already. The active clock grants it (own fence, marked manual)
        unless the overlap policy refuses it and `force` is not given."""
        self.published(name)
        return self.store.control.request(
            "trigger", name, who, force=force, idempotency_key=idempotency_key
        )

    def cancel(self, name: str, *, who: Actor, tick_ms: int | None = None) -> list[RunRecord]:
        """Ask the run of `name` at `tick_ms` (default: every run not ended) to stop; the
        runs asked."""
        _need_reason(who, "cancel")
        if tick_ms is not None:
            targets = [tick_ms]
        else:
            active = self.store.redis.zrange(self.store.keys.active(name), 0, -1)
            targets = [int(str(t)) for t in active]
            if not targets:
                self.published(name)
                raise LockclockError(f"no run of {name!r} is running or queued: nothing to cancel")
        asked = []
        for tick in targets:
            answer = request_stop(
                self.store, name, tick, reason=who.reason, by=who.actor, source=who.source
            )
            rec = self.store.history.record(name, tick)
            if answer == "ended":
                if tick_ms is not None:
                    raise LockclockError(f"the run of {name!r} at {tick} has ended already")
                continue
            if rec is not None:
                asked.append(rec)
        return asked

    def backfill(
        self, name: str, *, start: datetime, end: datetime, who: Actor, max_runs: int = 100,
        dry_run: bool = False, include_unknown: bool = False,
        idempotency_key: str | None = None,
    ) -> tuple[str, bool]:  # fmt: skip
        """Ask the active clock to run the ticks of `name` from `start` to `end` again, in
        order, each as a run of its own (keyed apart from the tick, its own fence), except
        those that ran ok; with `dry_run` only the plan. The request's id."""
        _need_reason(who, "backfill")
        self.published(name)
        for label, value in (("--from", start), ("--to", end)):
            if value.tzinfo is None:
                raise LockclockError(f"{label} needs a time zone, e.g. 2026-12-01T00:00:00Z")
        if end < start:
            raise LockclockError("--to is before --from: swap them")
        return self.store.control.request(
            "backfill",
            name,
            who,
            idempotency_key=idempotency_key,
            from_ms=int(start.timestamp() * 1000),
            to_ms=int(end.timestamp() * 1000),
            max=max_runs,
            dry_run=dry_run,
            include_unknown=include_unknown,
        )

    def progress(self, req: Request) -> BackfillProgress:
        """How far the runs a request made have got."""
        runs = req.runs()
        records = self.store.history.records(req.schedule, [r.tick for r in runs])
        ended = [r for r in records.values() if r.ended]
        return BackfillProgress(
            total=len(runs),
            ended=len(ended),
            ok=sum(1 for r in ended if r.status == "ok"),
            failed=[r for r in ended if r.status != "ok"],
        )

    def request(self, request_id: str) -> Request:
        req = self.store.control.get_request(request_id)
        if req is None:
            raise LockclockError(f"no request {request_id!r} (requests are kept 7 days)")
        return req

    def wait(self, request_id: str, timeout_s: float) -> Request:
        """The request once answered; NotAnswered past the timeout, RequestRefused if the
        clock refused it."""
        deadline = time.monotonic() + timeout_s
        while True:
            req = self.request(request_id)
            if req.state == "refused":
                raise RequestRefused("; ".join(req.errors()) or "refused")
            if req.state == "done":
                return req
            if time.monotonic() > deadline:
                raise NotAnswered(
                    f"no active clock answered request {request_id} within {timeout_s:g}s "
                    "(is a clock running? see `lockclock status`); it stays queued and is "
                    "carried out when a clock becomes active"
                )
            time.sleep(0.05)

    def audit(self, *, limit: int = 50, name: str | None = None) -> list[AuditEntry]:
        return self.store.control.audit(limit=limit, target=name)


def _need_reason(who: Actor, verb: str) -> None:
    if not who.reason.strip():
        raise LockclockError(f"{verb} needs a reason: add --reason 'why', for the audit log")

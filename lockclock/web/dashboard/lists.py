"""The list pages: what runs now, the outages and missed runs, and the audit log; and
the run table the schedule page shares with them. Each reads Redis in a few pipelined
round trips whatever the number of schedules."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ...coordination.control import AuditEntry
from ...coordination.records import OutageRecord, RunRecord
from ...coordination.store import Store
from ...ops.read_model import mark_lost, read_status
from ..http import Response
from ..views import query_int
from .blocks import code, section, table
from .fmt import duration, outcome, span, utc, when
from .markup import Markup, join, path_part, tag
from .page import Ctx, page

BAD = frozenset({"missed", "lost", "timed_out", "interrupted"})
RUN_HEADERS = ("tick", "outcome", "trigger", "late", "took", "attempt", "fence", "where", "note")


def schedule_link(ctx: Ctx, name: str) -> Markup:
    return tag("a", name, href=ctx.url(f"/ui/schedules/{path_part(name)}"))


def _note(r: RunRecord) -> str:
    if r.stop:
        return f"stop asked by {r.stop.get('by', '?')}: {r.stop.get('reason', '')}"
    if r.status == "paused":
        return f"{r.count or 1} ticks while paused" + (
            f", resumed by {r.resumed_by}" if r.resumed_by else ""
        )
    if r.status == "skipped" and r.blocked_by:
        return f"{r.count or 1} ticks while the run before had not ended"
    return (r.error or r.reason or "")[:300]


def run_rows(
    ctx: Ctx, records: Iterable[RunRecord], now_ms: int, *, with_name: bool = False
) -> list[list[object]]:
    rows: list[list[object]] = []
    for r in records:
        late = (r.started_ms - r.tick) if r.started_ms else None
        took = r.duration_ms
        if took is None and r.started_ms and not r.ended:
            took = now_ms - r.started_ms
        row: list[object] = [
            when(r.tick, now_ms),
            outcome(r),
            r.trigger or ("tick" if r.status not in ("paused", "skipped") else "—"),
            "—" if late is None else span(max(late, 0) / 1000),
            duration(took) + (" so far" if took is not None and not r.ended else ""),
            str(r.attempt or "—"),
            str(r.fence or "—"),
            code(r.owner or r.clock or "—"),
            _note(r),
        ]
        rows.append([schedule_link(ctx, r.schedule), *row] if with_name else row)
    return rows


def running(ctx: Ctx) -> Response:
    fleet = read_status(ctx.call.store)
    rows = run_rows(ctx, fleet.in_flight, fleet.now_ms, with_name=True)
    body = section(
        "Runs not ended",
        table(("schedule", *RUN_HEADERS), rows, empty="Nothing runs or waits now."),
        note="queued, waiting behind the run before, or running; newest first",
    )
    return page(ctx, title="Running now", body=body)


def recent_of(store: Store, names: Sequence[str], limit: int) -> dict[str, list[RunRecord]]:
    """The last `limit` records of each schedule, in two round trips."""
    k = store.keys
    with store.redis.pipeline(transaction=False) as p:
        for name in names:
            p.zrevrange(k.ticks(name), 0, limit - 1)
        ticks = p.execute()
    with store.redis.pipeline(transaction=False) as p:
        for name, found in zip(names, ticks, strict=True):
            p.hmget(k.runs(name), found or ["-"])
        raw = p.execute()
    return {
        name: [RunRecord.from_json(v) for v in values if v]
        for name, values in zip(names, raw, strict=True)
    }


def outages_of(store: Store, names: Sequence[str], limit: int) -> list[OutageRecord]:
    with store.redis.pipeline(transaction=False) as p:
        for name in names:
            p.lrange(store.keys.outages(name), 0, limit - 1)
        raw = p.execute()
    found = [OutageRecord.from_json(v) for values in raw for v in values]
    return sorted(found, key=lambda o: o.outage.detected_ms, reverse=True)


def outage_rows(ctx: Ctx, found: Iterable[OutageRecord], now_ms: int) -> list[list[object]]:
    rows: list[list[object]] = []
    for o in found:
        w = o.outage
        prev = o.prev_lease
        before = "—"
        if prev.clock:
            before = f"{prev.clock} ({'released' if prev.released else 'lease lapsed'})"
        rows.append(
            [
                schedule_link(ctx, w.schedule),
                when(w.detected_ms, now_ms),
                _utc_pair(w.first_ms, w.last_ms),
                f"{'≥' if w.count_is_lower_bound else ''}{w.count}",
                w.policy,
                str(w.run_late),
                str(w.missed) + (f" ({w.in_doubt} in doubt)" if w.in_doubt else ""),
                code(o.clock),
                before,
            ]
        )
    return rows


def _utc_pair(first: int, last: int) -> Markup:
    return tag("span", f"{utc(first)} → {utc(last)}", class_="nowrap")


OUTAGE_HEADERS = (
    "schedule",
    "found",
    "ticks passed",
    "count",
    "catch-up",
    "ran late",
    "missed",
    "found by",
    "clock before",
)


def outages(ctx: Ctx) -> Response:
    store = ctx.call.store
    now = store.server_ms()
    names = sorted(store.schedules.published())
    windows = outages_of(store, names, 20)[:200]
    alive = {w.info.id for w in store.workers.all() if w.lease_expires_ms >= now}
    alive |= {c.id for c in store.clocks.all() if c.alive(now)}
    bad = [
        r
        for records in recent_of(store, names, 50).values()
        for r in mark_lost(records, alive)
        if r.status in BAD or r.doubt
    ]
    bad.sort(key=lambda r: r.tick, reverse=True)
    body = join(
        [
            section(
                "Outages",
                table(OUTAGE_HEADERS, outage_rows(ctx, windows, now), empty="No outage recorded."),
                note="ticks that passed while no clock could fire them, and what catch-up did",
            ),
            section(
                "Missed and failed-to-finish runs",
                table(
                    ("schedule", *RUN_HEADERS),
                    run_rows(ctx, bad[:200], now, with_name=True),
                    empty="No missed, lost or timed-out run in the recent history.",
                ),
                note="missed, in doubt, lost, timed out or interrupted; last 50 runs of each",
            ),
        ]
    )
    return page(ctx, title="Outages and missed runs", body=body)


def audit_rows(ctx: Ctx, entries: Iterable[AuditEntry], now_ms: int) -> list[list[object]]:
    rows: list[list[object]] = []
    for e in entries:
        target = "all schedules" if e.target == "*" else schedule_link(ctx, e.target)
        rows.append(
            [
                when(e.ms, now_ms),
                tag("strong", e.action),
                target,
                e.actor,
                e.source,
                e.reason,
                e.detail,
            ]
        )
    return rows


AUDIT_HEADERS = ("when", "action", "target", "actor", "source", "reason", "detail")


def audit(ctx: Ctx) -> Response:
    store = ctx.call.store
    limit = query_int(ctx.request, "limit", 100, 1, 1000)
    name = ctx.request.arg("schedule") or None
    entries = ctx.call.ops.audit(limit=limit, name=name)
    now = store.server_ms()
    title = "Audit log" if name is None else f"Audit log of {name}"
    note = "who changed what, and why; newest first"
    body = section(
        "Operators' actions",
        table(
            AUDIT_HEADERS,
            audit_rows(ctx, entries, now),
            empty="No action recorded yet.",
            class_="audit",
        ),
        note=note,
    )
    return page(ctx, title=title, body=body)

"""The overview: is the fleet doing its job? Health, which clock leads and since when,
every schedule (next run, last outcome, 24 h and 7 d success rates, pauses with their
reasons), the workers and the queues. One page of reads from the same read model as
`lockclock status`, the counters from the same hashes as `lockclock describe`."""

from __future__ import annotations

from ...coordination.records import PublishedSchedule
from ...coordination.store import Store
from ...ops.describe import ScheduleStats, stats_from, trigger_of
from ...ops.health import check_health
from ...ops.read_model import FleetStatus, read_status
from ...scheduling.words import in_words
from ..http import Response
from .blocks import code, link, section, table, terms
from .fmt import badge, outcome, paused_badge, relative, success_rate, when
from .markup import Markup, join, path_part, tag
from .page import Ctx, page


def stats_of(store: Store, names: list[str], now_ms: int) -> dict[str, ScheduleStats]:
    """Every schedule's counters in one round trip."""
    with store.redis.pipeline(transaction=False) as p:
        for name in names:
            p.hgetall(store.keys.stats(name))
        raw = p.execute()
    return {
        name: stats_from(name, {str(k): str(v) for k, v in doc.items()}, now_ms)
        for name, doc in zip(names, raw, strict=True)
    }


def _health(store: Store) -> Markup:
    report = check_health(store)
    if report.ok:
        return tag("p", badge("healthy", "good"), " every schedule on time", class_="health")
    items = join(tag("li", p) for p in report.problems)
    return tag("div", badge("unhealthy", "bad"), tag("ul", items), class_="health")


def _lease(ctx: Ctx, store: Store, fleet: FleetStatus) -> Markup:
    active = fleet.active
    acquired = store.redis.hget(store.keys.lease, "acquired_ms")
    now = fleet.now_ms
    if active.clock:
        leader = terms(
            [
                ("active clock", tag("strong", active.clock, class_="leader")),
                ("leads since", when(int(float(acquired)) if acquired else None, now)),
                ("epoch", str(active.epoch)),
                ("lease left", f"{(active.ms_left or 0) / 1000:.1f} s"),
            ]
        )
    else:
        leader = tag("p", badge("no active clock", "bad"), " no clock holds the lease")
    rows = [
        (
            code(c.info.id) + (" " + badge("active", "good") if c.info.id == active.clock else ""),
            c.info.role,
            c.info.host or "—",
            c.info.dyno or str(c.info.pid or "—"),
            when(c.info.started_ms, now),
            f"{c.heartbeat_age_s:.1f} s ago",
            badge("up", "good") if c.alive else badge("gone", "bad"),
            c.info.version or "—",
        )
        for c in fleet.clocks
    ]
    headers = ("clock", "role", "host", "dyno / pid", "started", "heartbeat", "", "version")
    return section(
        "Clocks and lease",
        leader,
        table(headers, rows, empty="No clock has reported in this namespace.", class_="clocks"),
        id_="clocks",
    )


def _words(name: str, spec: PublishedSchedule) -> str:
    """The schedule in words, as `describe` reads it."""
    trigger = trigger_of(name, spec)
    return in_words(trigger) if trigger else spec.trigger


def _schedules(ctx: Ctx, fleet: FleetStatus, stats: dict[str, ScheduleStats]) -> Markup:
    now = fleet.now_ms
    rows = []
    for view in fleet.schedules:
        name = tag("a", view.name, href=ctx.url(f"/ui/schedules/{path_part(view.name)}"))
        paused = paused_badge(view.pause) if view.pause else Markup("")
        spec = view.published
        last = view.last
        counts = stats.get(view.name)
        rows.append(
            (
                Markup(tag("strong", name) + " " + paused),
                tag("span", _words(view.name, spec), title=spec.trigger),
                when(view.next_tick_ms, now) if spec.enabled else badge("disabled", "calm"),
                Markup(outcome(last) + " " + (when(last.tick, now) if last else Markup(""))),
                success_rate(counts.last_24h) if counts else "—",
                success_rate(counts.last_7d) if counts else "—",
                f"{spec.dispatch} · {spec.queue}",
            )
        )
    headers = ("schedule", "when", "next run", "last outcome", "24 h", "7 d", "runs on")
    return section(
        "Schedules",
        table(headers, rows, empty="No clock has published schedules yet.", class_="schedules"),
        id_="schedules",
        note=f"{len(rows)} published",
    )


def _workers(fleet: FleetStatus) -> Markup:
    now = fleet.now_ms
    rows = [
        (
            code(w.view.info.id),
            w.view.info.kind,
            w.view.info.host or "—",
            ", ".join(w.view.info.queues) or "—",
            f"{w.view.runs} / {w.view.info.concurrency or 'inline'}",
            f"{w.heartbeat_age_s:.1f} s ago",
            badge("up", "good") if w.alive else badge("gone", "bad"),
            relative(w.view.lease_expires_ms, now),
        )
        for w in fleet.workers
    ]
    headers = ("worker", "kind", "host", "queues", "running", "heartbeat", "", "lease ends")
    return section("Workers", table(headers, rows, empty="No worker is registered."), id_="workers")


def _queues(fleet: FleetStatus) -> Markup:
    rows = [
        (
            code(q.depth.queue),
            str(q.depth.waiting),
            str(q.depth.read),
            str(q.delayed),
            "—" if q.oldest_waiting_age_s is None else f"{q.oldest_waiting_age_s:.1f} s",
        )
        for q in fleet.queues
    ]
    headers = ("queue", "waiting", "being run", "delayed (retry)", "oldest waiting")
    return section("Queues", table(headers, rows, empty="No queue yet."), id_="queues")


def overview(ctx: Ctx) -> Response:
    store = ctx.call.store
    fleet = read_status(store)
    stats = stats_of(store, [s.name for s in fleet.schedules], fleet.now_ms)
    running = len(fleet.in_flight)
    note = link(ctx.url("/ui/running"), f"{running} run{'s' if running != 1 else ''} not ended")
    body = join(
        [
            tag("div", _health(store), tag("p", note, class_="muted"), class_="strip"),
            _lease(ctx, store, fleet),
            _schedules(ctx, fleet, stats),
            tag("div", _workers(fleet), _queues(fleet), class_="pair"),
        ]
    )
    return page(ctx, title="Overview", body=body)

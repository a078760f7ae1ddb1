"""One schedule: what it is (its spec, in words), whether it is paused and why, the
timeline of its recent runs, its success rates and run times, its next ticks, what
runs now, its outages and its audit trail; and, for an operator, the forms that change
it. The same description as `lockclock describe`."""

from __future__ import annotations

from ...ops.describe import ScheduleDescription, describe_schedule
from ..http import Response
from .blocks import code, link, section, table, terms
from .chart import timeline
from .controls import controls
from .fmt import badge, duration, paused_badge, success_rate, utc, when
from .lists import AUDIT_HEADERS, OUTAGE_HEADERS, RUN_HEADERS, audit_rows, outage_rows, run_rows
from .markup import Markup, join, path_part, tag
from .page import Ctx, page

CHART_RUNS = 60
READ_ONLY = (
    "This session is read-only: log in with the API token to pause, resume, trigger, "
    "backfill or cancel."
)
LEGEND = (
    ("good", "ok"),
    ("bad", "error, timed out, lost"),
    ("run", "running"),
    ("calm", "cancelled"),
    ("late", "lateness"),
)


def _spec(d: ScheduleDescription) -> Markup:
    p = d.published
    rows: list[tuple[str, object]] = [
        ("runs", tag("strong", d.words)),
        ("spec", code(p.trigger)),
        ("time zone", p.tz),
        ("runs on", f"{p.dispatch}, queue {p.queue}"),
        ("overlap", p.overlap),
        ("catch-up", p.catchup),
        ("max lateness", "—" if p.max_lateness_s is None else f"{p.max_lateness_s:g} s"),
        ("timeout", "—" if p.timeout_s is None else f"{p.timeout_s:g} s"),
        ("retries", str(p.retries or 0)),
        ("published by", code(p.published_by)),
    ]
    if not p.enabled:
        rows.insert(0, ("state", badge("disabled", "calm")))
    pause = d.pause
    if pause is not None:
        until = f", until {utc(pause.until_ms)}" if pause.until_ms else ", until resumed"
        scope = " (pause --all)" if pause.target == "*" else ""
        by = f" by {pause.actor or '?'} via {pause.source or '?'} since {utc(pause.since_ms)}"
        rows.insert(0, ("paused", paused_badge(pause) + tag("small", f"{by}{until}{scope}")))
    return section("Schedule", terms(rows), id_="spec")


def _stats(d: ScheduleDescription) -> Markup:
    s = d.stats
    counts = [
        (k, str(s.last_24h.get(k, 0)), str(s.last_7d.get(k, 0)))
        for k in sorted(set(s.last_24h) | set(s.last_7d))
        if s.last_24h.get(k) or s.last_7d.get(k)
    ]
    summary = terms(
        [
            ("success, 24 h", success_rate(s.last_24h)),
            ("success, 7 d", success_rate(s.last_7d)),
            (
                "run time p50 / p95",
                f"{duration(s.p50_duration_ms)} / {duration(s.p95_duration_ms)}",
            ),
            ("last success", utc(s.last_success_ms)),
        ]
    )
    detail = table(("outcome", "24 h", "7 d"), counts, empty="No run ended in the last 7 days.")
    return section("Outcomes", summary, detail, id_="stats")


def _legend() -> Markup:
    items = [tag("span", tag("i", class_=f"swatch sw-{tone}"), text) for tone, text in LEGEND]
    items += [
        tag("span", tag("b", "\u00d7", class_="tone-bad"), " missed"),
        tag("span", tag("b", "↷", class_="tone-calm"), " skipped"),
        tag("span", tag("b", "‖", class_="tone-paused"), " paused"),
    ]
    return tag("p", join(items, " "), class_="legend")


def schedule(ctx: Ctx) -> Response:
    name = ctx.call.params["name"]
    store = ctx.call.store
    d = describe_schedule(store, name, recent=CHART_RUNS)
    now = store.server_ms()
    chart = section(
        "Recent runs",
        timeline(d.recent, now, label=f"The last {len(d.recent)} records of {name}"),
        _legend(),
        id_="timeline",
        note="duration above the axis, lateness below; hover a bar for its run",
    )
    nexts = (
        tag("ol", join(tag("li", when(t, now)) for t in d.next_ticks_ms), class_="ticks")
        if d.next_ticks_ms
        else tag("p", "No next tick (disabled, or an older clock published it).", class_="muted")
    )
    running = table(RUN_HEADERS, run_rows(ctx, d.running, now), empty="Nothing runs now.")
    read_only = tag("p", READ_ONLY, class_="muted read-only")
    change = section(
        "Change it", controls(ctx, d) if ctx.viewer.can_write else read_only, id_="controls"
    )
    outages = store.history.outages(name, 10)
    audit = ctx.call.ops.audit(limit=15, name=name)
    full = link(ctx.url(f"/ui/audit?schedule={path_part(name)}"), "all of its audit log")
    last = table(RUN_HEADERS, run_rows(ctx, d.recent[:20], now), empty="No run recorded yet.")
    windows = table(OUTAGE_HEADERS, outage_rows(ctx, outages, now), empty="No outage recorded.")
    trail = table(AUDIT_HEADERS, audit_rows(ctx, audit, now), empty="No operator changed it.")
    body = join(
        [
            tag("div", _spec(d), _stats(d), class_="pair"),
            chart,
            change,
            tag(
                "div",
                section("Next ticks", nexts, id_="next"),
                section("Running now", running, id_="running"),
                class_="pair",
            ),
            section("Last runs", last, id_="runs"),
            section("Outages", windows, id_="outages"),
            section("Audit", trail, full, id_="audit"),
        ]
    )
    heading = Markup(tag("span", name) + (" " + paused_badge(d.pause) if d.pause else ""))
    return page(ctx, title=name, heading=heading, body=body)

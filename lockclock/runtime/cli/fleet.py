"""`lockclock status` and `lockclock history`: the read model, for a terminal."""

from __future__ import annotations

import json

import click

from ...logs import iso_ms
from ...ops.read_model import read_history, read_status
from ...ops.wording import pause_text
from ..connection import describe_url
from .base import main, namespace_option, operator_store, redis_url_option


@main.command()
@redis_url_option
@namespace_option
@click.option("--json", "as_json", is_flag=True)
def status(redis_url: str | None, namespace: str | None, as_json: bool) -> None:
    """Clocks alive, the active clock, and each schedule's last and next tick."""
    store, url = operator_store(redis_url, namespace)
    fleet = read_status(store)
    if as_json:
        out = {"redis": describe_url(url), **fleet.to_json()}
        click.echo(json.dumps(out, indent=2, default=str))
        return
    click.echo(f"redis {describe_url(url)}  namespace {store.ns}")
    act = fleet.active
    if act.clock:
        left = (act.ms_left or 0) / 1000
        click.echo(f"active clock: {act.clock}  epoch {act.epoch}  lease {left:.1f}s left")
    else:
        click.echo("active clock: none (no clock holds the lease)")
    click.echo(f"clocks ({len(fleet.clocks)}):")
    for c in fleet.clocks:
        role = c.info.role if c.alive else "gone"
        click.echo(
            f"  {c.info.id:<32} {role:<8} pid {c.info.pid}  heartbeat {c.heartbeat_age_s}s ago"
        )
    click.echo(f"schedules ({len(fleet.schedules)}):")
    for s in fleet.schedules:
        rec = s.last
        last_txt = f"last {iso_ms(rec.tick)} {rec.shown_status}" if rec else "never ran"
        paused = "" if s.published.enabled else "  (disabled)"
        if s.pause is not None:
            paused += f"  PAUSED: {pause_text(s.pause)}"
        where = f"  queue {s.published.queue}" if s.published.dispatch == "workers" else ""
        click.echo(f"  {s.name}: {s.published.trigger}{paused}{where}")
        click.echo(f"      {last_txt}; next {iso_ms(s.next_tick_ms) or '-'}")
    if fleet.orphans:
        click.echo(f"no longer in the code (`lockclock forget NAME`): {', '.join(fleet.orphans)}")
    if fleet.workers:
        click.echo(f"workers ({len(fleet.workers)}):")
    for w in fleet.workers:
        info = w.view.info
        state = ("alive" if w.alive else "gone") + (
            " (inline clock)" if info.kind == "clock" else ""
        )
        click.echo(
            f"  {info.id:<32} {state:<8} pid {info.pid}  running {w.view.runs}  "
            f"heartbeat {w.heartbeat_age_s}s ago  queues {','.join(info.queues)}"
        )
    if any(q.depth.waiting or q.depth.read or q.delayed for q in fleet.queues):
        click.echo("queues:")
        for q in fleet.queues:
            oldest = f", oldest waiting {q.oldest_waiting_age_s}s" if q.oldest_waiting_age_s else ""
            click.echo(
                f"  {q.depth.queue}: {q.depth.waiting} waiting, {q.depth.read} read by workers, "
                f"{q.delayed} delayed{oldest}"
            )
    redelivering = [r for r in fleet.in_flight if (r.attempt or 1) > 1 and r.status == "queued"]
    for r in redelivering:
        click.echo(
            f"  redelivering {r.schedule} {iso_ms(r.tick)}: attempt {r.attempt}, fence {r.fence}"
        )


@main.command()
@click.argument("name")
@redis_url_option
@namespace_option
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 100_000))
@click.option("--json", "as_json", is_flag=True)
def history(
    name: str, redis_url: str | None, namespace: str | None, limit: int, as_json: bool
) -> None:
    """Recent runs of schedule NAME, newest first."""
    store, _ = operator_store(redis_url, namespace)
    records = read_history(store, name, limit)
    now_ms = store.server_ms()
    if as_json:
        click.echo(json.dumps([r.to_json() for r in records], indent=2))
        return
    click.echo(
        f"{'TICK':<24} {'STARTED':<24} {'STATUS':<11} {'TRY':>3} {'FENCE':>7} "
        f"{'QUEUED':>8} {'DURATION':>9}  RAN ON"
    )
    for r in records:
        dur = f"{r.duration_ms}ms" if r.duration_ms is not None else "-"
        queued = "-"
        if r.attempt_started_ms and r.enqueued_ms:
            queued = f"{max(r.attempt_started_ms - r.enqueued_ms, 0)}ms"
        ran_on = r.owner or (r.attempt_list()[-1].worker if r.attempts else r.clock)
        status = r.shown_status
        if r.status == "skipped" and (r.count or 1) > 1:
            status = f"skipped x{r.count}"
        progress = ""
        if r.progress is not None and r.progress_ms:
            progress = f"  progress {r.progress} ({(now_ms - r.progress_ms) / 1000:.0f}s ago)"
        click.echo(
            f"{iso_ms(r.for_tick or r.tick):<24} {iso_ms(r.started_ms) or '-':<24} "
            f"{status:<11} {r.attempt or '-':>3} {r.fence or '-':>7} {queued:>8} {dur:>9}  "
            f"{ran_on}" + (f"  {r.error}" if r.error else "") + progress
        )

"""`lockclock describe`, `lockclock health` and `lockclock forget`: one schedule in
depth, the fleet's health for a probe, and removing what the code no longer has."""

from __future__ import annotations

import json
import sys

import click

from ...errors import LockclockError
from ...logs import iso_ms
from ...ops.describe import describe_schedule
from ...ops.health import check_health
from ...ops.wording import pause_text
from .base import main, namespace_option, operator_store, redis_url_option
from .control import _who, actor_option, reason_option


def _span(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def _ms(value: int | None) -> str:
    return "-" if value is None else f"{value}ms"


@main.command()
@click.argument("name")
@redis_url_option
@namespace_option
@click.option("--json", "as_json", is_flag=True)
def describe(name: str, redis_url: str | None, namespace: str | None, as_json: bool) -> None:
    """Schedule NAME in depth: spec, pause, next ticks, recent runs, counts."""
    store, _ = operator_store(redis_url, namespace)
    d = describe_schedule(store, name)
    if as_json:
        click.echo(json.dumps(d.to_json(), indent=2, default=str))
        return
    spec = d.published
    click.echo(f"{name}: {spec.trigger}  ({d.words})")
    click.echo(
        f"  catch-up {spec.catchup}, overlap {spec.overlap}, {spec.dispatch}"
        + (f" on queue {spec.queue}" if spec.dispatch == "workers" else "")
        + (f", max lateness {_span(spec.max_lateness_s)}" if spec.max_lateness_s else "")
        + (f", timeout {_span(spec.timeout_s)}" if spec.timeout_s else "")
        + (f", retries {spec.retries}" if spec.retries else "")
    )
    if d.pause:
        click.echo(f"  PAUSED: {pause_text(d.pause)}")
    click.echo("next ticks:")
    for t in d.next_ticks_ms:
        click.echo(f"  {iso_ms(t)}")
    if not d.next_ticks_ms:
        click.echo("  - (disabled, or published by an older clock)")
    st = d.stats
    click.echo(
        f"duration p50 {_ms(st.p50_duration_ms)}, p95 {_ms(st.p95_duration_ms)}; "
        f"last success {iso_ms(st.last_success_ms) or 'never'}"
    )
    for label, counts in (("24h", st.last_24h), ("7d", st.last_7d)):
        shown = ", ".join(f"{k} {v}" for k, v in counts.items() if v) or "nothing"
        click.echo(f"  last {label}: {shown}")
    if d.running:
        click.echo("running now:")
        for r in d.running:
            click.echo(
                f"  {iso_ms(r.tick)} {r.status} attempt {r.attempt} fence {r.fence} on "
                f"{r.owner or '-'}"
            )
    click.echo(f"last {len(d.recent)} runs:")
    click.echo(
        f"  {'TICK':<24} {'STATUS':<13} {'LATE':>7} {'DURATION':>9} {'TRY':>3} {'FENCE':>6}  ON"
    )
    for r in d.recent:
        status = r.shown_status
        if r.status in ("skipped", "paused") and (r.count or 1) > 1:
            status = f"{r.status} x{r.count}"
        late = _ms(max((r.started_ms or 0) - r.tick, 0) if r.started_ms else None)
        on = r.owner or (r.attempt_list()[-1].worker if r.attempts else r.clock)
        click.echo(
            f"  {iso_ms(r.tick):<24} {status:<13} {late:>7} {_ms(r.duration_ms):>9} "
            f"{r.attempt or '-':>3} {r.fence or '-':>6}  {on}"
        )


@main.command()
@redis_url_option
@namespace_option
@click.option("--json", "as_json", is_flag=True)
def health(redis_url: str | None, namespace: str | None, as_json: bool) -> None:
    """Exit 0 if a clock holds the lease and no schedule is overdue, else 1 (a probe)."""
    store, _ = operator_store(redis_url, namespace)
    h = check_health(store)
    if as_json:
        click.echo(json.dumps(h.to_json(), indent=2))
    else:
        click.echo(
            ("healthy" if h.ok else "unhealthy")
            + f": active clock {h.active_clock or 'none'}"
            + (f", lease renewed {h.renewed_ago_s}s ago" if h.renewed_ago_s is not None else "")
        )
        for p in h.problems:
            click.echo(f"  {p}")
    sys.exit(0 if h.ok else 1)


@main.command()
@click.argument("name")
@reason_option
@actor_option
@redis_url_option
@namespace_option
def forget(
    name: str, reason: str, actor: str | None, redis_url: str | None, namespace: str | None
) -> None:
    """Remove the keys of schedule NAME, which the code no longer has."""
    store, _ = operator_store(redis_url, namespace)
    if name not in store.control.known_names():
        raise LockclockError(f"no records of a schedule {name!r} in namespace {store.ns!r}")
    how, count = store.control.forget(name, _who(actor, reason))
    if how == "published":
        raise LockclockError(
            f"{name!r} is still published by the active clock: remove it from the code and "
            "deploy first"
        )
    if how == "running":
        raise LockclockError(f"{count} run(s) of {name!r} have not ended: cancel them first")
    click.echo(f"{name}: forgotten ({count} records removed)")

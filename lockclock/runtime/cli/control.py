"""`lockclock pause / resume / trigger / cancel / audit`: the operators' control API
(ops/control.py) in a terminal. Each change is audited with who ran it (`--actor`, or
$LOCKCLOCK_ACTOR, or user@host) and why (`--reason`)."""

from __future__ import annotations

import getpass
import json
import os
import socket
import sys
import time
from datetime import datetime

import click

from ...coordination.control import Actor
from ...coordination.records import Request
from ...errors import LockclockError
from ...logs import iso_ms
from ...ops.control import NO_MONITOR, NO_TOKEN, Operations, RequestRefused
from ...sentry.mute import MonitorMuter
from .base import main, namespace_option, operator_store, redis_url_option

reason_option = click.option("--reason", default="", help="Why (kept in the audit log).")
actor_option = click.option(
    "--actor",
    default=None,
    help="Who, for the audit log.  [env var: LOCKCLOCK_ACTOR; default: user@host]",
)


def _who(actor: str | None, reason: str) -> Actor:
    name = actor or os.environ.get("LOCKCLOCK_ACTOR")
    if not name:
        try:
            user = getpass.getuser()
        except (KeyError, OSError):
            user = "unknown"
        name = f"{user}@{socket.gethostname()}"
    return Actor(actor=name, source="cli", reason=reason)


def _ops(redis_url: str | None, namespace: str | None) -> Operations:
    store, _ = operator_store(redis_url, namespace)
    return Operations(store, muter=MonitorMuter.from_env())


def _iso(value: str) -> datetime:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise LockclockError(
            f"invalid time {value!r}: use ISO 8601 with a zone, e.g. 2026-12-02T08:00:00Z"
        ) from None


def _print_runs(req: Request, name: str) -> None:
    for run in req.runs():
        how = {"started": "started", "queued": "queued", "waiting": "waiting behind a run"}.get(
            run.note, run.note
        )
        click.echo(f"{name}: run {iso_ms(run.tick)} fence {run.fence} {how} (request {req.id})")


@main.command()
@click.argument("name", required=False)
@click.option("--all", "all_", is_flag=True, help="Pause every schedule.")
@click.option("--until", default=None, help="End the pause by itself then (ISO 8601).")
@reason_option
@actor_option
@redis_url_option
@namespace_option
def pause(
    name: str | None, all_: bool, until: str | None, reason: str, actor: str | None,
    redis_url: str | None, namespace: str | None,
) -> None:  # fmt: skip
    """Pause schedule NAME (or --all): no tick is claimed until `resume`."""
    if bool(name) == all_:
        raise LockclockError("pause needs a schedule NAME or --all (not both)")
    ops = _ops(redis_url, namespace)
    res = ops.pause(name, who=_who(actor, reason), until=_iso(until) if until else None)
    what = "every schedule" if name is None else name
    verb = "paused" if res.how == "paused" else "still paused (reason updated)"
    click.echo(f"{what} {verb} since {iso_ms(res.since_ms)}" + (f" until {until}" if until else ""))
    if res.sentry.done:
        click.echo("Sentry: the monitor is muted for the pause (unmuted on resume)")
    elif res.sentry.note == NO_MONITOR:
        pass  # nothing reports this schedule's ticks to Sentry
    elif res.sentry.note == NO_TOKEN:
        click.echo(
            "note: Sentry will report the paused ticks as missed check-ins (set "
            "SENTRY_AUTH_TOKEN and SENTRY_ORG to mute the monitor for a pause)"
        )
    else:
        click.echo(f"warning: the Sentry monitor was not muted: {res.sentry.note}")


@main.command()
@click.argument("name", required=False)
@click.option("--all", "all_", is_flag=True, help="End `pause --all`.")
@click.option(
    "--catchup", type=click.Choice(["skip", "latest", "all"]), default="skip", show_default=True,
    help="The ticks the pause held: none run (skip), the last one, or all (up to 100).",
)  # fmt: skip
@reason_option
@actor_option
@click.option(
    "--wait", "wait_s", default=5.0, show_default=True, help="Seconds to wait for the clock."
)
@redis_url_option
@namespace_option
def resume(
    name: str | None, all_: bool, catchup: str, reason: str, actor: str | None, wait_s: float,
    redis_url: str | None, namespace: str | None,
) -> None:  # fmt: skip
    """End the pause of schedule NAME (or --all)."""
    if bool(name) == all_:
        raise LockclockError("resume needs a schedule NAME or --all (not both)")
    ops = _ops(redis_url, namespace)
    request_id = ops.resume(name, who=_who(actor, reason), catchup=catchup)  # type: ignore[arg-type]
    click.echo(f"{name or 'every schedule'} resumed (catch-up: {catchup})")
    if catchup != "skip":
        req = ops.wait(request_id, wait_s)
        _print_runs(req, name or "*")


@main.command()
@click.argument("name")
@reason_option
@click.option("--force", is_flag=True, help="Run even if a run of NAME has not ended.")
@actor_option
@click.option(
    "--wait", "wait_s", default=5.0, show_default=True, help="Seconds to wait for the clock."
)
@redis_url_option
@namespace_option
def trigger(
    name: str, reason: str, force: bool, actor: str | None, wait_s: float,
    redis_url: str | None, namespace: str | None,
) -> None:  # fmt: skip
    """Run schedule NAME now (a manual run: its own fence; the ticks are untouched)."""
    ops = _ops(redis_url, namespace)
    request_id, _ = ops.trigger(name, who=_who(actor, reason), force=force)
    try:
        req = ops.wait(request_id, wait_s)
    except RequestRefused as exc:
        raise LockclockError(f"trigger of {name!r} refused: {exc}") from None
    _print_runs(req, name)


@main.command()
@click.argument("name")
@click.option(
    "--tick", default=None, help="The run's tick (ISO 8601); default: every run not ended."
)
@reason_option
@actor_option
@redis_url_option
@namespace_option
def cancel(
    name: str, tick: str | None, reason: str, actor: str | None,
    redis_url: str | None, namespace: str | None,
) -> None:  # fmt: skip
    """Ask a run of NAME to stop; recorded `cancelled` if it does (or had not started)."""
    ops = _ops(redis_url, namespace)
    tick_ms = int(_iso(tick).timestamp() * 1000) if tick else None
    for rec in ops.cancel(name, who=_who(actor, reason), tick_ms=tick_ms):
        state = "asked to stop" if rec.status == "running" else rec.status
        click.echo(f"{name}: run {iso_ms(rec.tick)} fence {rec.fence} {state}")


@main.command()
@click.argument("name", required=False)
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000))
@click.option("--json", "as_json", is_flag=True)
@redis_url_option
@namespace_option
def audit(
    name: str | None, limit: int, as_json: bool, redis_url: str | None, namespace: str | None
) -> None:
    """Operators' actions, newest first (of NAME, with those on all schedules)."""
    entries = _ops(redis_url, namespace).audit(limit=limit, name=name)
    if as_json:
        click.echo(json.dumps([e.to_json() for e in entries], indent=2))
        return
    for e in entries:
        detail = f" ({e.detail})" if e.detail else ""
        click.echo(
            f"{iso_ms(e.ms)}  {e.action:<8} {e.target:<24} by {e.actor} via {e.source}"
            f"{detail}: {e.reason or '-'}"
        )


@main.command()
@click.argument("name")
@click.option("--from", "start", required=True, help="First tick (ISO 8601, inclusive).")
@click.option("--to", "end", required=True, help="Last tick (ISO 8601, inclusive).")
@click.option("--dry-run", is_flag=True, help="Print the plan; run nothing.")
@click.option("--max", "max_runs", default=100, show_default=True, type=click.IntRange(1, 10_000),
              help="Refuse a range with more ticks than this.")  # fmt: skip
@click.option("--include-unknown", is_flag=True,
              help="Also run ticks whose records were trimmed (they may have run ok).")  # fmt: skip
@click.option("--wait/--no-wait", "follow", default=False, help="Follow the runs to the end.")
@reason_option
@actor_option
@redis_url_option
@namespace_option
def backfill(
    name: str, start: str, end: str, dry_run: bool, max_runs: int, include_unknown: bool,
    follow: bool, reason: str, actor: str | None, redis_url: str | None,
    namespace: str | None,
) -> None:  # fmt: skip
    """Run the ticks of NAME from --from to --to again, in order, each with its own
    fence; ticks that ran ok are skipped."""
    ops = _ops(redis_url, namespace)
    request_id, _ = ops.backfill(
        name, start=_iso(start), end=_iso(end), who=_who(actor, reason), max_runs=max_runs,
        dry_run=dry_run, include_unknown=include_unknown,
    )  # fmt: skip
    try:
        req = ops.wait(request_id, 10.0)
    except RequestRefused as exc:
        raise LockclockError(f"backfill of {name!r} refused: {exc}") from None
    words = {"run": "run", "ok": "skip: ran ok", "unknown": "skip: unknown (--include-unknown)"}
    for step in req.plan:
        click.echo(f"  {iso_ms(int(step['tick']))}  {words.get(step['state'], step['state'])}"
                   f"  (was {step['was']})")  # fmt: skip
    to_run = sum(1 for s in req.plan if s["state"] == "run")
    if dry_run:
        click.echo(f"plan: {to_run} of {len(req.plan)} ticks would run (dry run: nothing ran)")
        return
    click.echo(f"backfill {request_id}: {len(req.runs())} runs queued, one after another")
    if not follow or not req.runs():
        return
    progress = ops.progress(req)
    with click.progressbar(length=progress.total, label="backfill", show_pos=True) as bar:
        shown = 0
        while True:
            progress = ops.progress(req)
            bar.update(progress.ended - shown)
            shown = progress.ended
            if progress.done:
                break
            time.sleep(0.25)
    for rec in progress.failed:
        click.echo(f"  {iso_ms(rec.for_tick)} {rec.status}: {rec.error or '-'}")
    click.echo(f"done: {progress.ok} ok, {len(progress.failed)} not ok")
    if progress.failed:
        sys.exit(1)

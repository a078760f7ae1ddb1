"""The forms' POSTs: the same `Operations` calls as the JSON routes and the CLI (so
they check, refuse and audit alike), with source "web" and the viewer's actor. Each
answers 303 back to the schedule page with a flash saying what happened; a refusal
(not paused, nothing to cancel, a bad field) is a flash too, not an error page. The
requests the active clock carries out are waited for briefly, so the flash can say
whether the run was granted."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import cast

from ...coordination.control import Actor
from ...coordination.records import CatchupOnResume, Request
from ...errors import ConfigError, LayoutError, LockclockError, RedisAuthError
from ...ops.control import NotAnswered, RequestRefused
from ...ops.read_model import UnknownSchedule
from ..http import HTTPError, Response
from .forms import Form
from .markup import path_part
from .page import Ctx, redirect

WAIT_S = 2.0  # how long a POST waits for the active clock's answer
Outcome = tuple[str, str]  # flash kind (ok, warn, error), text


def _who(ctx: Ctx, form: Form) -> Actor:
    reason = form.text("reason", required=True, label="reason")
    return Actor(actor=ctx.viewer.actor, source="web", reason=reason)


def _answer(ctx: Ctx, request_id: str) -> Request | str:
    """The request once the active clock answered it, or what to say instead."""
    try:
        return ctx.call.ops.wait(request_id, WAIT_S)
    except RequestRefused as exc:
        return f"refused by the active clock: {exc}"
    except NotAnswered:
        return "queued: no active clock has answered yet; it is carried out when one does"


def trigger(ctx: Ctx, name: str, form: Form) -> Outcome:
    request_id, _ = ctx.call.ops.trigger(name, who=_who(ctx, form), force=form.flag("force"))
    req = _answer(ctx, request_id)
    if isinstance(req, str):
        return ("error" if req.startswith("refused") else "warn"), f"Run now {req}."
    fences = ", ".join(str(r.fence) for r in req.runs()) or "—"
    return "ok", f"Run now granted by {req.clock or 'the active clock'} (fence {fences})."


def pause(ctx: Ctx, name: str, form: Form) -> Outcome:
    who = _who(ctx, form)
    res = ctx.call.ops.pause(name, who=who, until=form.instant("until", label="until"))
    muted = " Its Sentry monitor is muted." if res.sentry.done else ""
    verb = "Paused" if res.how == "paused" else "Pause updated for"
    return "ok", f"{verb} {name}: no clock claims its ticks until it is resumed.{muted}"


def resume(ctx: Ctx, name: str, form: Form) -> Outcome:
    catchup = form.choice("catchup", ("skip", "latest", "all"), "skip")
    request_id = ctx.call.ops.resume(
        name, who=_who(ctx, form), catchup=cast(CatchupOnResume, catchup)
    )
    req = _answer(ctx, request_id)
    if isinstance(req, str):
        return "warn", f"Resumed {name}; its catch-up is {req}."
    return "ok", f"Resumed {name} (catch-up: {catchup})."


def backfill(ctx: Ctx, name: str, form: Form) -> Outcome:
    who = _who(ctx, form)
    start, end = form.instant("from", label="from"), form.instant("to", label="to")
    if start is None or end is None:
        raise HTTPError(400, "give both ends of the range (from and to, UTC)")
    dry = form.flag("dry_run")
    request_id, _ = ctx.call.ops.backfill(
        name,
        start=start,
        end=end,
        who=who,
        dry_run=dry,
        max_runs=form.number("max", default=100, lo=1, hi=10_000),
        include_unknown=form.flag("include_unknown"),
    )
    req = _answer(ctx, request_id)
    if isinstance(req, str):
        return ("error" if req.startswith("refused") else "warn"), f"Backfill {req}."
    states = Counter(str(p.get("state")) for p in req.plan)
    plan = ", ".join(f"{n} {s}" for s, n in sorted(states.items())) or "no tick in the range"
    if dry:
        return "ok", f"Backfill plan (dry run, nothing ran): {plan}."
    return "ok", f"Backfill started: {len(req.runs())} runs, one after another ({plan})."


def cancel(ctx: Ctx, name: str, form: Form) -> Outcome:
    who = _who(ctx, form)
    tick = form.tick_ms("tick")
    ctx.call.ops.published(name)
    if tick is not None and ctx.call.store.history.record(name, tick) is None:
        raise HTTPError(404, f"no run of {name!r} at that tick: reload the page")
    asked = ctx.call.ops.cancel(name, who=who, tick_ms=tick)
    if not asked:
        return "warn", "Those runs had ended already: nothing to cancel."
    return "ok", f"Asked {len(asked)} run{'s' if len(asked) != 1 else ''} of {name} to stop."


ACTIONS: dict[str, Callable[[Ctx, str, Form], Outcome]] = {
    "trigger": trigger,
    "pause": pause,
    "resume": resume,
    "backfill": backfill,
    "cancel": cancel,
}


def act(ctx: Ctx) -> Response:
    name, action = ctx.call.params["name"], ctx.call.params["action"]
    handler = ACTIONS.get(action)
    if handler is None:
        raise HTTPError(404, f"no action {action!r}: one of {', '.join(ACTIONS)}")
    try:
        kind, text = handler(ctx, name, Form(ctx.request))
    except (UnknownSchedule, ConfigError, LayoutError, RedisAuthError):
        raise  # an error page: not something the form's user can fix
    except (HTTPError, LockclockError) as exc:
        if isinstance(exc, HTTPError) and exc.status >= 500:
            raise
        kind, text = "error", f"{action.capitalize()} refused: {exc}"
    ctx.flash(kind, text)
    return redirect(ctx, f"/ui/schedules/{path_part(name)}")

"""The routes: the read model and the control API of lockclock.ops, as JSON.

Reads answer what `lockclock status`, `history` and `audit` print; writes go through
`Operations`, so the HTTP API checks, refuses and audits exactly as the CLI does, with
source "http" and the caller's actor. Describe, stats and health come from
`ops.describe` and `ops.health`; /metrics from `lockclock.metrics`, imported on first
use (501 without prometheus_client). The dashboard's pages (web/dashboard/) are
registered here too, so every app that serves the API serves them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

from ..coordination.records import CatchupOnResume
from ..errors import LockclockError
from ..ops.control import ALL
from ..ops.describe import describe_schedule, schedule_stats
from ..ops.health import check_health
from ..ops.read_model import read_history, read_status
from .dashboard.routes import DASHBOARD_ROUTES
from .http import HTTPError, Response, json_response
from .idempotency import REPLAYED, idempotency_key
from .router import Call, Route, route
from .views import Body, query_int, with_times

# -- reads ----------------------------------------------------------------------------------


def healthz(call: Call) -> Response:
    return json_response(200, {"ok": True})


def status(call: Call) -> Response:
    return json_response(200, with_times(read_status(call.store).to_json()))


def _slice(*parts: str) -> Callable[[Call], Response]:
    def handler(call: Call) -> Response:
        doc = read_status(call.store).to_json()
        return json_response(200, with_times({k: doc[k] for k in ("namespace", *parts)}))

    return handler


def schedules(call: Call) -> Response:
    fleet = read_status(call.store)
    pauses = call.ops.pauses()
    items = []
    for view in fleet.schedules:
        item = view.to_json()
        pause = pauses.get(view.name) or pauses.get(ALL)
        item.setdefault("paused", None if pause is None else pause.to_json())
        items.append(item)
    doc = {
        "namespace": fleet.namespace,
        "schedules": items,
        "pauses": [p.to_json() for p in pauses.values()],
    }
    return json_response(200, with_times(doc))


def describe(call: Call) -> Response:
    return json_response(200, describe_schedule(call.store, call.params["name"]).to_json())


def stats(call: Call) -> Response:
    return json_response(200, schedule_stats(call.store, call.params["name"]).to_json())


def runs(call: Call) -> Response:
    name = call.params["name"]
    limit = query_int(call.request, "limit", 20, 1, 1000)
    records = read_history(call.store, name, limit)
    return json_response(
        200, {"schedule": name, "runs": with_times([r.to_json() for r in records])}
    )


def audit(call: Call) -> Response:
    limit = query_int(call.request, "limit", 50, 1, 10_000)
    name = call.request.arg("schedule") or None
    entries = call.ops.audit(limit=limit, name=name)
    return json_response(200, {"entries": with_times([e.to_json() for e in entries])})


def request(call: Call) -> Response:
    try:
        req = call.ops.request(call.params["id"])
    except LockclockError as exc:
        raise HTTPError(404, str(exc)) from None
    doc = req.to_json()
    if req.kind == "backfill" and req.runs():
        progress = call.ops.progress(req)
        doc["progress"] = {
            "total": progress.total,
            "ended": progress.ended,
            "ok": progress.ok,
            "failed": [r.to_json() for r in progress.failed],
        }
    return json_response(200, with_times(doc))


def health(call: Call) -> Response:
    report = check_health(call.store)
    return json_response(200 if report.ok else 503, report.to_json())


def metrics(call: Call) -> Response:
    try:  # here: prometheus_client is imported only by who scrapes
        from ..metrics import render
    except ModuleNotFoundError as exc:
        raise HTTPError(501, f"/metrics needs the Python package {exc.name!r}") from None
    body, content_type = render(call.store)
    return Response(status=200, body=body, content_type=content_type)


# -- writes ---------------------------------------------------------------------------------


def _accepted(call: Call, request_id: str, *, replayed: bool = False) -> Response:
    link = call.link(f"/api/v1/requests/{request_id}")
    headers = (("location", link), *((REPLAYED,) if replayed else ()))
    return json_response(202, {"request": request_id, "status": link}, headers=headers)


def trigger(call: Call) -> Response:
    name = call.params["name"]
    body = Body(call.request, ("reason", "force"))
    key = idempotency_key(call.request)
    request_id, new = call.ops.trigger(
        name,
        who=call.who(body.text("reason")),
        force=body.flag("force"),
        idempotency_key=None if key is None else "trigger:" + key,
    )
    if not new and call.ops.request(request_id).schedule != name:
        raise HTTPError(
            422, "this Idempotency-Key was used for another request: use a new key per change"
        )
    return _accepted(call, request_id, replayed=not new)


def _pause(call: Call, name: str | None) -> Response:
    body = Body(call.request, ("reason", "until"))
    reason = body.text("reason", required=True)
    until = body.instant("until")
    if until is not None and until.timestamp() * 1000 <= call.store.server_ms():
        raise HTTPError(400, f"'until' {until.isoformat()} has passed: give a later time")
    res = call.ops.pause(name, who=call.who(reason), until=until)
    until_ms = None if until is None else round(until.timestamp() * 1000)
    doc = {
        "target": res.target,
        "how": res.how,
        "since_ms": res.since_ms,
        "until_ms": until_ms,
        "sentry": {"muted": res.sentry.done, "note": res.sentry.note or None},
    }
    return json_response(200, with_times(doc))


def pause(call: Call) -> Response:
    return _pause(call, call.params["name"])


def pause_all(call: Call) -> Response:
    return _pause(call, None)


def _resume(call: Call, name: str | None) -> Response:
    body = Body(call.request, ("catchup", "reason"))
    catchup = body.choice("catchup", ("skip", "latest", "all"), "skip")
    request_id = call.ops.resume(
        name, who=call.who(body.text("reason")), catchup=cast(CatchupOnResume, catchup)
    )
    return _accepted(call, request_id)


def resume(call: Call) -> Response:
    return _resume(call, call.params["name"])


def resume_all(call: Call) -> Response:
    return _resume(call, None)


def backfill(call: Call) -> Response:
    name = call.params["name"]
    body = Body(call.request, ("reason", "from", "to", "max", "dry_run", "include_unknown"))
    reason = body.text("reason", required=True)
    start, end = body.instant("from"), body.instant("to")
    if start is None or end is None:
        raise HTTPError(400, "'from' and 'to' are required (ISO 8601 with a zone)")
    max_runs = body.number("max", default=100, lo=1, hi=10_000)
    key = idempotency_key(call.request)
    request_id, new = call.ops.backfill(
        name,
        start=start,
        end=end,
        who=call.who(reason),
        max_runs=max_runs,
        dry_run=body.flag("dry_run"),
        include_unknown=body.flag("include_unknown"),
        idempotency_key=None if key is None else "backfill:" + key,
    )
    return _accepted(call, request_id, replayed=not new)


def cancel(call: Call) -> Response:
    name = call.params["name"]
    body = Body(call.request, ("reason", "tick"))
    reason = body.text("reason", required=True)
    tick_ms = body.instant_ms("tick")
    call.ops.published(name)
    if tick_ms is not None and call.store.history.record(name, tick_ms) is None:
        raise HTTPError(404, f"no run of {name!r} at tick {tick_ms}: see its /runs")
    asked = call.ops.cancel(name, who=call.who(reason), tick_ms=tick_ms)
    doc = {
        "schedule": name,
        "asked": [
            {
                "tick": r.tick,
                "fence": r.fence,
                "status": r.status,
                "answer": "stop requested" if r.status == "running" else r.status,
            }
            for r in asked
        ],
    }
    return json_response(200, with_times(doc))


ROUTES: tuple[Route, ...] = (
    route("GET", "/healthz", healthz, public=True),
    route("GET", "/api/v1/status", status),
    route("GET", "/api/v1/clocks", _slice("active", "clocks")),
    route("GET", "/api/v1/workers", _slice("workers")),
    route("GET", "/api/v1/queues", _slice("queues")),
    route("GET", "/api/v1/schedules", schedules),
    route("GET", "/api/v1/schedules/{name}", describe),
    route("GET", "/api/v1/schedules/{name}/runs", runs),
    route("GET", "/api/v1/schedules/{name}/stats", stats),
    route("GET", "/api/v1/audit", audit),
    route("GET", "/api/v1/requests/{id}", request),
    route("GET", "/api/v1/health", health),
    route("GET", "/metrics", metrics),
    route("POST", "/api/v1/schedules/{name}/trigger", trigger),
    route("POST", "/api/v1/schedules/{name}/pause", pause, replay=True),
    route("POST", "/api/v1/pause-all", pause_all, replay=True),
    route("POST", "/api/v1/schedules/{name}/resume", resume, replay=True),
    route("POST", "/api/v1/resume-all", resume_all, replay=True),
    route("POST", "/api/v1/schedules/{name}/backfill", backfill),
    route("POST", "/api/v1/schedules/{name}/cancel", cancel, replay=True),
    *DASHBOARD_ROUTES,  # the HTML pages under /ui/ (web/dashboard/)
)

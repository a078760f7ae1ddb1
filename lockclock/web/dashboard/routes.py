"""The dashboard's routes, registered with the JSON API's (web/routes.py), and the
guard every page and form goes through: logged out, a GET goes to the login form and a
POST is refused; a POST needs the session's CSRF token (checked in constant time), a
same-origin browser, and for a change an operator's session. Failures are HTML pages
with the status the JSON API would give."""

from __future__ import annotations

import json
from collections.abc import Callable

from ..http import HTTPError, Response
from ..router import Call, Handler, Route, answer_error, route
from .actions import act
from .forms import Form
from .gate import Viewer, viewer_of
from .lists import audit, outages, running
from .login import login, login_form, logout, to_login
from .markup import asset
from .overview import overview
from .page import Ctx, problem
from .schedule_page import schedule
from .session import csrf_ok

Page = Callable[[Ctx], Response]
STATIC = {"dashboard.css": "text/css; charset=utf-8"}
TITLES = {400: "Bad request", 404: "Not found", 409: "Refused", 503: "Redis is unreachable"}
_CROSS_SITE = ("cross-site", "same-site")  # Sec-Fetch-Site of a form posted from elsewhere


def _ctx(call: Call) -> Ctx:
    viewer = viewer_of(call.request)
    if viewer is None:  # the gate runs for every /ui route that is not public
        raise HTTPError(500, "the dashboard's gate did not run for this request")
    return Ctx(call=call, viewer=viewer)


def refused(ctx: Ctx, *, change: bool, login_page: bool = False) -> Response | None:
    """Why a POST may not go on, as a 403 page; None when it may."""
    viewer: Viewer = ctx.viewer
    if (ctx.request.header("sec-fetch-site") or "").lower() in _CROSS_SITE:
        return problem(ctx, 403, "Refused", "A form posted from another site is refused.")
    if login_page:  # no session yet: the token in the form is the proof
        return None
    if viewer.session is None or viewer.power is None:
        return problem(ctx, 403, "Log in first", "Your session has ended: log in again.")
    if not csrf_ok(viewer.keys, viewer.session, Form(ctx.request).get("csrf")):
        return problem(
            ctx,
            403,
            "Refused",
            "The form's CSRF token is missing or wrong, so nothing was changed: reload "
            "the page and send the form again.",
        )
    if change and not viewer.can_write:
        return problem(
            ctx,
            403,
            "Read-only",
            "This session is read-only (the read token): nothing was changed. Log in with "
            "the API token to make changes.",
        )
    return None


def failure(ctx: Ctx, exc: Exception) -> Response:
    """lockclock's errors as the JSON API maps them (and logs them), shown as a page."""
    answer = answer_error(exc)
    message = str(json.loads(answer.body).get("error", "error"))
    title = TITLES.get(answer.status, "Something went wrong")
    return problem(ctx, answer.status, title, message)


def guarded(handler: Page, *, change: bool = False, login_page: bool = False) -> Handler:
    """`handler` behind the checks above; `change`: it changes schedules (operators
    only); `login_page`: it is open to who is not logged in."""

    def run(call: Call) -> Response:
        ctx = _ctx(call)
        try:
            if call.request.method == "POST":
                no = refused(ctx, change=change, login_page=login_page)
                if no is not None:
                    return no
            elif ctx.viewer.power is None and not login_page:
                return to_login(ctx)
            if not login_page:
                ctx.namespace = call.store.ns
            return handler(ctx)
        except Exception as exc:
            return failure(ctx, exc)

    return run


def home(call: Call) -> Response:
    location = call.request.root_path.rstrip("/") + "/ui/"
    return Response(status=303, content_type="text/html", headers=(("location", location),))


def static(call: Call) -> Response:
    name = call.params["file"]
    if name not in STATIC:
        return Response(status=404, body=b"not found", content_type="text/plain")
    return Response(status=200, body=asset(f"static/{name}").encode(), content_type=STATIC[name])


DASHBOARD_ROUTES: tuple[Route, ...] = (
    route("GET", "/", home, public=True),
    route("GET", "/ui/static/{file}", static, public=True),
    route("GET", "/ui/login", guarded(login_form, login_page=True)),
    route("POST", "/ui/login", guarded(login, login_page=True)),
    route("POST", "/ui/logout", guarded(logout)),
    route("GET", "/ui", guarded(overview)),
    route("GET", "/ui/", guarded(overview)),
    route("GET", "/ui/schedules/{name}", guarded(schedule)),
    route("POST", "/ui/schedules/{name}/{action}", guarded(act, change=True)),
    route("GET", "/ui/running", guarded(running)),
    route("GET", "/ui/outages", guarded(outages)),
    route("GET", "/ui/audit", guarded(audit)),
)

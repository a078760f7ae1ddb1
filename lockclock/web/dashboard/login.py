"""Logging in and out. The form takes the API token (operator) or the read token
(read-only) and buys a session cookie; the token itself is never stored in the cookie,
logged or sent back. A host app with its own users (`authorize=`) has no login: its
hook decides on every request."""

from __future__ import annotations

from urllib.parse import urlencode

from ..auth import API_TOKEN_ENV, READ_TOKEN_ENV
from ..http import Response
from .forms import Form
from .gate import Viewer
from .markup import render, tag
from .page import Ctx, page, problem, redirect
from .session import SESSION_COOKIE, SESSION_TTL_S, encode_session, new_session

HOME = "/ui/"


def safe_next(raw: str | None) -> str:
    """Where to go after logging in: a dashboard path of this app, nothing else (no
    open redirect to another site)."""
    text = (raw or "").strip()
    ok = text.startswith("/ui") and not text.startswith("//") and "\\" not in text
    return text if ok and text.isprintable() else HOME


def to_login(ctx: Ctx) -> Response:
    """A logged-out GET: to the login form, coming back here afterwards."""
    here = ctx.request.path
    if ctx.request.query:
        here += "?" + urlencode(ctx.request.query, doseq=True)
    return redirect(ctx, "/ui/login?" + urlencode({"next": here}))


def _form(ctx: Ctx, next_path: str, problem_text: str = "", status: int = 200) -> Response:
    body = render(
        "login.html",
        intro="Paste the API token (changes allowed) or the read token (read-only).",
        problem=tag("p", problem_text, class_="flash flash-error") if problem_text else "",
        action=ctx.url("/ui/login"),
        next=next_path,
        hours=str(SESSION_TTL_S // 3600),
    )
    return page(ctx, title="Log in", body=body, status=status)


def _closed(ctx: Ctx) -> Response:
    text = (
        f"The dashboard is closed: set {API_TOKEN_ENV} (changes) or {READ_TOKEN_ENV} "
        "(read-only) on the server, then log in with it."
    )
    return problem(ctx, 403, "Closed", text)


def login_form(ctx: Ctx) -> Response:
    viewer: Viewer = ctx.viewer
    next_path = safe_next(ctx.request.arg("next"))
    if viewer.power is not None:
        return redirect(ctx, next_path)
    if viewer.hosted:
        return problem(ctx, 403, "Not allowed", "The host app does not let you in here.")
    if viewer.closed:
        return _closed(ctx)
    return _form(ctx, next_path)


def login(ctx: Ctx) -> Response:
    viewer = ctx.viewer
    if viewer.hosted:
        return problem(ctx, 403, "Not allowed", "The host app signs you in, not a token.")
    if viewer.closed:
        return _closed(ctx)
    form = Form(ctx.request)
    next_path = safe_next(form.get("next"))
    token = (form.get("token") or "").strip()
    role = viewer.auth.token_role(token) if token else None
    if role is None:
        return _form(ctx, next_path, "That token is not valid here.", status=401)
    session = new_session(viewer.keys, role, token)
    ctx.set_cookie(SESSION_COOKIE, encode_session(viewer.keys, session), SESSION_TTL_S)
    welcome = (
        "Logged in: you can change schedules."
        if role == "api"
        else ("Logged in read-only: the read token shows everything and changes nothing.")
    )
    ctx.flash("ok", welcome)
    return redirect(ctx, next_path)


def logout(ctx: Ctx) -> Response:
    ctx.end_session()
    ctx.flash("ok", "Logged out.")
    return redirect(ctx, "/ui/login")

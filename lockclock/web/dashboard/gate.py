"""Who is looking: the auth step for the dashboard's paths. `Auth.check` hands every
/ui request here instead of asking for a bearer token; this never refuses (a page
decides: the login form, a redirect, a 403) but works out the viewer from the session
cookie, or from the host app's `authorize` hook, and keeps it for the page's handler
in a context variable bound to that very request (the router core has no other way
to pass it on).
"""

from __future__ import annotations

import hmac
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from ..http import Request
from .session import (
    SESSION_COOKIE,
    Session,
    SessionKeys,
    decode_session,
    derive_keys,
    fingerprint,
    new_session,
    read_cookies,
)

if TYPE_CHECKING:
    from ..auth import Auth

PREFIX = "/ui"
Power = Literal["api", "read"]


def is_dashboard(path: str) -> bool:
    return path == PREFIX or path.startswith(PREFIX + "/")


@dataclass(frozen=True, kw_only=True)
class Viewer:
    auth: Auth
    keys: SessionKeys
    power: Power | None  # None: not logged in (or the host app says no)
    actor: str  # what the audit keeps of this viewer's changes
    session: Session | None = None
    fresh: bool = False  # a host-app session made now: its cookie must be set
    secure: bool = False  # the client came over https (X-Forwarded-Proto)

    @property
    def can_write(self) -> bool:
        return self.power == "api"

    @property
    def closed(self) -> bool:
        """No token set and no `authorize` hook: nobody can log in (default deny)."""
        auth = self.auth
        return auth.authorize is None and not (auth.api_token or auth.read_token)

    @property
    def hosted(self) -> bool:
        return self.auth.authorize is not None


_SEEN: ContextVar[tuple[Request, Viewer] | None] = ContextVar("lockclock_viewer", default=None)


def keys_of(auth: Auth) -> SessionKeys:
    return derive_keys(auth.session_secret, auth.api_token, auth.read_token)


def came_over_https(request: Request) -> bool:
    proto = (request.header("x-forwarded-proto") or "").split(",")[0].strip().lower()
    forwarded = (request.header("forwarded") or "").lower().replace(" ", "")
    return proto == "https" or "proto=https" in forwarded.split(",")[0].split(";")


def gate(auth: Auth, request: Request) -> str:
    """The actor for the router's log line ('' when nobody is logged in)."""
    viewer = look(auth, request)
    _SEEN.set((request, viewer))
    return viewer.actor


def viewer_of(request: Request) -> Viewer | None:
    seen = _SEEN.get()
    return seen[1] if seen is not None and seen[0] is request else None


def look(auth: Auth, request: Request) -> Viewer:
    keys = keys_of(auth)
    secure = came_over_https(request)
    sessions = [
        s
        for v in read_cookies(request.header("cookie"), SESSION_COOKIE)
        if (s := decode_session(keys, v)) is not None
    ]
    if auth.authorize is not None:
        return _hosted(auth, request, keys, sessions, secure)
    for session in sessions:
        token = {"api": auth.api_token, "read": auth.read_token}.get(session.role)
        if token and hmac.compare_digest(session.fp, fingerprint(keys, token)):
            power: Power = "api" if session.role == "api" else "read"
            actor = auth.named_actor(request) or "dashboard"
            return Viewer(
                auth=auth, keys=keys, power=power, actor=actor, session=session, secure=secure
            )
    return Viewer(auth=auth, keys=keys, power=None, actor="", secure=secure)


def _hosted(
    auth: Auth, request: Request, keys: SessionKeys, sessions: list[Session], secure: bool
) -> Viewer:
    """The host app's users: its hook decides on every request; the session cookie only
    carries what the CSRF token is derived from."""
    actor = auth.host_actor(request, "read")
    if actor is None:
        return Viewer(auth=auth, keys=keys, power=None, actor="", secure=secure)
    power: Power = "api" if auth.host_actor(request, "write") is not None else "read"
    session = next((s for s in sessions if s.role == "host"), None)
    fresh = session is None
    return Viewer(
        auth=auth,
        keys=keys,
        power=power,
        actor=actor,
        session=session or new_session(keys, "host", None),
        fresh=fresh,
        secure=secure,
    )

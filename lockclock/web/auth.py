"""Who may read and who may change: default deny. With no token configured only
/healthz answers; LOCKCLOCK_READ_TOKEN opens the reads, LOCKCLOCK_API_TOKEN reads and
writes. A host app that has its own users passes `authorize` instead, and what it
returns is the actor the audit log keeps. Tokens are compared in constant time and
never logged or echoed. The dashboard's paths (/ui/...) take a signed session cookie
instead of a bearer token: their gate (dashboard/gate.py) works out who looks.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from .dashboard.gate import gate, is_dashboard
from .http import HTTPError, Request

Action = Literal["read", "write"]
Authorize = Callable[[Request, str], str | None]

READ_TOKEN_ENV = "LOCKCLOCK_READ_TOKEN"
API_TOKEN_ENV = "LOCKCLOCK_API_TOKEN"
SESSION_SECRET_ENV = "LOCKCLOCK_SESSION_SECRET"  # signs dashboard sessions; else from a token
ACTOR_HEADER = "x-lockclock-actor"
MAX_ACTOR = 100
_CHALLENGE = (("www-authenticate", 'Bearer realm="lockclock"'),)


@dataclass(frozen=True, kw_only=True)
class Auth:
    read_token: str | None = field(default=None, repr=False)
    api_token: str | None = field(default=None, repr=False)
    authorize: Authorize | None = None
    session_secret: str | None = field(default=None, repr=False)

    @classmethod
    def configure(
        cls,
        *,
        read_token: str | None = None,
        api_token: str | None = None,
        authorize: Authorize | None = None,
    ) -> Auth:
        """Arguments first, then the environment; an empty token is no token."""
        return cls(
            read_token=read_token or os.environ.get(READ_TOKEN_ENV) or None,
            api_token=api_token or os.environ.get(API_TOKEN_ENV) or None,
            authorize=authorize,
            session_secret=os.environ.get(SESSION_SECRET_ENV) or None,
        )

    @property
    def reads_open(self) -> bool:
        return self.authorize is not None or bool(self.read_token or self.api_token)

    @property
    def writes_open(self) -> bool:
        return self.authorize is not None or bool(self.api_token)

    def check(self, request: Request, action: Action) -> str:
        """The actor for the audit log, or HTTPError 401 (who are you?) / 403 (not that).
        A dashboard path is never refused here: its page decides, from the session."""
        if is_dashboard(request.path):
            return gate(self, request)
        if self.authorize is not None:
            actor = self.authorize(request, action)
            if actor is None:
                raise HTTPError(403, f"not allowed to {action} lockclock here")
            return clean_actor(actor) or "http"
        if not (self.read_token or self.api_token):
            raise HTTPError(
                401,
                f"the lockclock API is closed: set {READ_TOKEN_ENV} (reads) or "
                f"{API_TOKEN_ENV} (reads and writes) on the server, then send "
                "Authorization: Bearer <token>",
                headers=_CHALLENGE,
            )
        presented = bearer(request)
        if presented is None:
            raise HTTPError(401, "send Authorization: Bearer <token>", headers=_CHALLENGE)
        is_api = _same(presented, self.api_token)
        is_read = _same(presented, self.read_token)
        if not (is_api or is_read):
            raise HTTPError(401, "invalid token", headers=_CHALLENGE)
        if action == "write" and not is_api:
            hint = "" if self.api_token else f" ({API_TOKEN_ENV} is not set on this server)"
            raise HTTPError(403, f"the read token cannot make changes: use {API_TOKEN_ENV}{hint}")
        named = clean_actor(request.header(ACTOR_HEADER) or "")
        return named or ("api-token" if is_api else "read-token")

    def token_role(self, presented: str) -> Literal["api", "read"] | None:
        """Which token this is (the dashboard's login form), compared in constant time."""
        is_api, is_read = _same(presented, self.api_token), _same(presented, self.read_token)
        return "api" if is_api else "read" if is_read else None

    def named_actor(self, request: Request) -> str:
        """X-Lockclock-Actor, as a proxy in front may set it; '' when absent."""
        return clean_actor(request.header(ACTOR_HEADER) or "")

    def host_actor(self, request: Request, action: Action) -> str | None:
        """The host app's user for `action` (its `authorize` hook), or None."""
        if self.authorize is None:
            return None
        actor = self.authorize(request, action)
        return None if actor is None else clean_actor(actor) or "web"


def bearer(request: Request) -> str | None:
    scheme, _, token = (request.header("authorization") or "").strip().partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def clean_actor(raw: str) -> str:
    """Printable and short: it lands in the audit log and in operators' terminals."""
    text = "".join(c for c in raw if c.isprintable()).strip()
    return text[:MAX_ACTOR]


def _same(presented: str, token: str | None) -> bool:
    # Compared even when unset, so a wrong token takes as long whichever is configured.
    expected = (token or "").encode()
    return hmac.compare_digest(presented.encode(), expected) and bool(token)

"""The sync core both servers share: match the route, check who asks, run the handler,
turn lockclock's errors into statuses. The ASGI app runs it in a thread (Redis calls
are blocking), the WSGI app calls it as it is; neither knows a route.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property

import redis

from ..coordination.control import Actor
from ..coordination.failures import AUTH_ERRORS, TRANSIENT_ERRORS, auth_message
from ..coordination.store import Store
from ..errors import ConfigError, LayoutError, LockclockError
from ..logs import event
from ..ops.control import Operations
from ..ops.read_model import UnknownSchedule
from ..sentry.mute import MonitorMuter
from .auth import Auth
from .http import HTTPError, Request, Response, capped, error_response
from .idempotency import idempotency_key, replayable

log = logging.getLogger("lockclock.web")


@dataclass(frozen=True, kw_only=True)
class Call:
    """What a handler gets: the request, the path's parameters, who asked, the store."""

    request: Request
    params: dict[str, str]
    actor: str
    stores: Callable[[], Store]

    @cached_property
    def store(self) -> Store:
        return self.stores()

    @cached_property
    def ops(self) -> Operations:
        # as the CLI: a pause mutes the Sentry monitors when SENTRY_AUTH_TOKEN is set
        return Operations(self.store, muter=MonitorMuter.from_env())

    def who(self, reason: str) -> Actor:
        return Actor(actor=self.actor, source="http", reason=reason)

    def link(self, path: str) -> str:
        """A path of this API as the client reaches it (behind the host app's mount)."""
        return self.request.root_path.rstrip("/") + path


Handler = Callable[[Call], Response]


@dataclass(frozen=True, kw_only=True)
class Route:
    method: str
    template: str
    pattern: re.Pattern[str]
    handler: Handler
    public: bool = False  # /healthz: no auth, no Redis
    replay: bool = False  # an Idempotency-Key replays the stored answer


def route(
    method: str, template: str, handler: Handler, *, public: bool = False, replay: bool = False
) -> Route:
    """`/api/v1/schedules/{name}`: each {param} is one path segment."""
    regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template))
    return Route(
        method=method,
        template=template,
        pattern=re.compile(regex),
        handler=handler,
        public=public,
        replay=replay,
    )


class Router:
    def __init__(self, routes: Sequence[Route], auth: Auth, stores: Callable[[], Store]) -> None:
        self.routes = tuple(routes)
        self.auth = auth
        self.stores = stores

    def handle(self, request: Request) -> Response:
        """Never raises: every failure is an answer, a JSON {"error": ...}."""
        actor: str | None = None
        try:
            response, actor = self._dispatch(request)
        except Exception as exc:
            response = answer_error(exc)
        if request.method != "GET" or response.status >= 500:
            _log_request(request, response, actor)
        if request.method == "HEAD":
            return Response(status=response.status, headers=response.headers)
        return response

    def _dispatch(self, request: Request) -> tuple[Response, str | None]:
        method = "GET" if request.method == "HEAD" else request.method
        found = [(r, m) for r in self.routes if (m := r.pattern.fullmatch(request.path))]
        hit = next(((r, m) for r, m in found if r.method == method), None)
        if hit is not None and hit[0].public:
            call = Call(request=request, params=hit[1].groupdict(), actor="", stores=self.stores)
            return hit[0].handler(call), None
        actor = self.auth.check(request, "read" if method == "GET" else "write")
        if not found:
            raise HTTPError(404, f"no route {request.path!r}: see GET /api/v1/status")
        if hit is None:
            allowed = ", ".join(sorted({r.method for r, _ in found}))
            raise HTTPError(405, f"{method} not allowed here", headers=(("allow", allowed),))
        if request.body_too_large:
            raise HTTPError(413, "the body is too large")
        found_route, match = hit
        call = Call(request=request, params=match.groupdict(), actor=actor, stores=self.stores)
        key = idempotency_key(request) if found_route.replay else None
        if key is not None:
            return replayable(call.store, request, key, lambda: found_route.handler(call)), actor
        return found_route.handler(call), actor


def answer_error(exc: Exception) -> Response:
    """lockclock's errors as statuses; a bug's traceback goes to the log, not the client."""
    if isinstance(exc, HTTPError):
        return error_response(exc.status, exc.message, headers=exc.headers)
    if isinstance(exc, UnknownSchedule):
        return error_response(404, str(exc))
    if isinstance(exc, AUTH_ERRORS):
        return error_response(503, auth_message(exc))
    if isinstance(exc, TRANSIENT_ERRORS):
        return error_response(503, f"Redis is unreachable ({exc}); check REDIS_URL")
    if isinstance(exc, (ConfigError, LayoutError)):
        return error_response(500, str(exc))
    if isinstance(exc, LockclockError):  # a refusal: not paused, nothing to cancel...
        return error_response(409, str(exc))
    if isinstance(exc, redis.RedisError):
        event(log, "web_redis_error", level=logging.ERROR, error=capped(str(exc)))
        return error_response(500, "Redis refused a command: see the server's log")
    event(log, "web_error", level=logging.ERROR, error=type(exc).__name__, exc_info=True)
    return error_response(500, "internal error: see the server's log")


def _log_request(request: Request, response: Response, actor: str | None) -> None:
    level = logging.ERROR if response.status >= 500 else logging.INFO
    fields = {
        "method": request.method,
        "path": capped(request.path, 200),
        "status": response.status,
        "actor": actor,
        "client": request.client,
    }
    event(log, "web_request", level=level, **fields)

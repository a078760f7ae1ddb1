"""One router for both servers: its routes, its auth and its store. Without a store
given, it connects as the operators' CLI does (REDIS_URL, LOCKCLOCK_NAMESPACE, the
embedded development Redis when REDIS_URL is unset) on the first request that needs
Redis, so /healthz answers and the app imports even while Redis is away.
"""

from __future__ import annotations

import threading

from ..coordination.store import Store
from .auth import Auth, Authorize
from .router import Router
from .routes import ROUTES


class LazyStore:
    """The store, made once; a failed connection is retried by the next request."""

    def __init__(
        self, store: Store | None, *, redis_url: str | None, namespace: str | None
    ) -> None:
        self._store = store
        self._redis_url = redis_url
        self._namespace = namespace
        self._lock = threading.Lock()

    def __call__(self) -> Store:
        if self._store is None:
            with self._lock:
                if self._store is None:
                    # here, not at import: the CLI package imports this one
                    from ..runtime.cli.base import operator_store

                    self._store, _ = operator_store(self._redis_url, self._namespace)
        return self._store


def build_router(
    *,
    store: Store | None = None,
    redis_url: str | None = None,
    namespace: str | None = None,
    read_token: str | None = None,
    api_token: str | None = None,
    authorize: Authorize | None = None,
) -> Router:
    auth = Auth.configure(read_token=read_token, api_token=api_token, authorize=authorize)
    return Router(ROUTES, auth, LazyStore(store, redis_url=redis_url, namespace=namespace))

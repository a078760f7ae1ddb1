"""Redis clients with explicit timeouts and retries, and URL redaction.

redis-py's defaults (5 s socket timeout, 10 retries with backoff) can hold a
command for about a minute; a clock must notice trouble well inside one lease.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

from ..errors import ConfigError
from ..redact import redact_url


def connect(
    url: str,
    *,
    socket_timeout: float = 1.0,
    connect_timeout: float = 1.0,
    retries: int = 1,
) -> redis.Redis:
    """A client that fails fast: scripts are idempotent, so one retry is safe."""
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss", "unix"):
        raise ConfigError(
            f"invalid REDIS_URL {redact_url(url)!r}: the scheme must be redis://, rediss:// "
            "or unix:// (e.g. redis://localhost:6379/0)"
        )
    try:
        return redis.Redis.from_url(
            url,
            decode_responses=True,
            socket_timeout=socket_timeout,
            socket_connect_timeout=connect_timeout,
            retry=Retry(ExponentialBackoff(cap=0.2, base=0.02), retries),
            retry_on_timeout=True,
            health_check_interval=0,
            client_name="lockclock",
        )
    except ValueError as exc:
        raise ConfigError(f"invalid REDIS_URL {redact_url(url)!r}: {exc}") from None


def describe_url(url: str) -> str:
    """host:port/db for log lines, without credentials."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return f"unix://{parts.path}"
    host = parts.hostname or "localhost"
    port = parts.port or 6379
    return f"{parts.scheme}://{host}:{port}{parts.path or ''}"

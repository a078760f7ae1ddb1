"""Which Redis errors are transient (retry with backoff) and which a user must fix."""

from __future__ import annotations

import redis

AUTH_ERRORS: tuple[type[Exception], ...] = (
    redis.AuthenticationError,
    redis.exceptions.NoPermissionError,
    redis.exceptions.AuthenticationWrongNumberOfArgsError,
)
TRANSIENT_ERRORS: tuple[type[Exception], ...] = (redis.ConnectionError, redis.TimeoutError)


def auth_message(exc: Exception) -> str:
    """A fixable one-line message for credentials or ACL permissions Redis refused."""
    if isinstance(exc, redis.exceptions.NoPermissionError):
        return (
            f"the Redis ACL user in REDIS_URL lacks a permission lockclock needs ({exc}): "
            "allow +@read +@write +@scripting +@list +@hash +@sortedset +@string +@keyspace "
            "(+wait with LOCKCLOCK_WAIT_REPLICAS) and the namespace's keys"
        )
    return f"Redis refused our credentials ({exc}): check the password or ACL user in REDIS_URL"

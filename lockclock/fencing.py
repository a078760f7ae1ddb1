"""Fencing tokens for the stores your jobs write to.

A run's `current_run().fence` only grows. A job that was paused (GC, SIGSTOP, a
slow network) may wake after a newer run has written; the store, not the job,
must refuse the older token. Two ready-made guards:

* `FencedRedis.set(key, value, fence)` for Redis values (an atomic script);
* `FENCED_SQL_UPDATE` shows the pattern for SQL: keep the last fence in the row
  and make the update conditional on it.
"""

from __future__ import annotations

from importlib import resources

import redis

from .context import current_run

FENCED_SQL_UPDATE = """
UPDATE report SET body = :body, fence = :fence
 WHERE id = :id AND fence <= :fence
"""  # rowcount 0 means a newer run already wrote: stop, do not retry.


class StaleFenceError(RuntimeError):
    """A newer run has written already; this run's writes must stop."""


class FencedRedis:
    """Redis writes that a run with an older fencing token cannot overwrite."""

    def __init__(self, client: redis.Redis) -> None:
        self.redis = client
        self._script = client.register_script(
            resources.files("lockclock").joinpath("fencing.lua").read_text()
        )

    def set(self, key: str, value: str, fence: int | None = None) -> None:
        token = current_run().fence if fence is None else fence
        if not int(self._script(keys=[key, f"{key}:fence"], args=[token, value])):
            raise StaleFenceError(f"write to {key!r} refused: fence {token} is older than the last")

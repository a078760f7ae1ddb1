"""Errors a user can fix. The CLI prints these as one line and exits 2."""

from __future__ import annotations


class LockclockError(Exception):
    """Base for errors caused by input or environment, not by a bug."""


class ScheduleError(LockclockError, ValueError):
    """A schedule definition is invalid (bad cron, unknown zone, bad interval...)."""


class ConfigError(LockclockError):
    """A setting or the environment is invalid (bad REDIS_URL, bad LOCKCLOCK_* value)."""


class RedisAuthError(LockclockError):
    """Redis rejected our credentials: retrying cannot help."""


class JobImportError(LockclockError):
    """The module or attribute named on the command line cannot be loaded."""

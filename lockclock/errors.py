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


class LayoutError(LockclockError):
    """Redis holds this namespace in a key layout this lockclock does not know."""


class Interrupted(BaseException):
    """Raised in a job by `current_run().raise_if_stopping()` once the run was asked to
    stop (its process got SIGTERM, its timeout passed, or an operator asked). The run
    is handed back and resumes, with its saved progress, on another attempt; it is not a
    failure. A BaseException, like asyncio.CancelledError, so that a job's `except
    Exception` does not swallow it."""

    def __init__(self, reason: str = "stop requested") -> None:
        super().__init__(reason)
        self.reason = reason


class Superseded(BaseException):
    """Raised by `current_run().save_progress()` when a newer attempt owns the run (this
    one's worker was presumed dead): nothing was stored, and nothing this attempt does
    may be kept. Stop."""


class ProgressTooLarge(ValueError):
    """A progress value's JSON is over the limit (LOCKCLOCK_PROGRESS_MAX bytes)."""

"""The user-facing object: a registry of schedules and the settings to run them.

Importing it starts nothing and connects to nothing; `Clock.run` reaches the runtime
only when called.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar
from zoneinfo import ZoneInfo

from .coordination.records import DispatchMode
from .errors import ConfigError, ScheduleError
from .options import (
    ScheduleOptions,
    build,
    parse_options,
    plain_signature,
    prefixed_signature,
)
from .scheduling import Schedule
from .sentry.options import AlertOptions

if TYPE_CHECKING:
    from .runtime.background import BackgroundClock

F = TypeVar("F", bound=Callable[..., Any])


class Clock:
    """Schedules plus the settings to run them; `lockclock run module:attr` runs it.

    Keyword arguments override the environment (REDIS_URL, LOCKCLOCK_*, SENTRY_DSN); leave
    them unset to configure the deployment through the environment, as on Heroku.
    `sentry=False` turns Sentry alerts off even where SENTRY_DSN is set.
    `dispatch="workers"` makes the clock only enqueue; `lockclock worker` runs the jobs.
    """

    def __init__(
        self,
        *,
        redis_url: str | None = None,
        namespace: str | None = None,
        lease_ttl: float | None = None,
        grace: float | None = None,
        history_limit: int | None = None,
        wait_replicas: int | None = None,
        tz: str | ZoneInfo | None = None,
        sentry: str | bool | None = None,
        dispatch: DispatchMode | None = None,
        worker_lease: float | None = None,
    ) -> None:
        self.options: dict[str, Any] = {
            "redis_url": redis_url,
            "namespace": namespace,
            "lease_ttl_s": lease_ttl,
            "grace_s": grace,
            "history_limit": history_limit,
            "wait_replicas": wait_replicas,
            # a DSN, or False for no Sentry alerts even if SENTRY_DSN is set
            "sentry_dsn": sentry,
            "dispatch": dispatch,
            "worker_lease_s": worker_lease,
        }
        self.tz = tz
        self._schedules: dict[str, Schedule] = {}
        self._alerting: dict[str, AlertOptions] = {}
        self._background: BackgroundClock | None = None

    @property
    def schedules(self) -> list[Schedule]:
        return list(self._schedules.values())

    @property
    def alerting(self) -> dict[str, AlertOptions]:
        """Each schedule's Sentry options, by schedule name."""
        return dict(self._alerting)

    def add(self, sched: Schedule, alerting: AlertOptions | None = None) -> Schedule:
        if sched.name in self._schedules:
            raise ScheduleError(
                f"duplicate schedule name {sched.name!r}: each schedule needs a unique name= "
                "(it keys the schedule's history and claims in Redis)"
            )
        self._schedules[sched.name] = sched
        self._alerting[sched.name] = alerting or AlertOptions()
        return sched

    def forget(self, name: str) -> None:
        """Drop a schedule from this registry (tests and tools)."""
        self._schedules.pop(name, None)
        self._alerting.pop(name, None)

    @prefixed_signature(ScheduleOptions, "self")
    def schedule(self, *args: Any, **kwargs: Any) -> Callable[[F], F]:
        """Register the decorated function; invalid input fails here, at import time."""
        opts = parse_options(args, kwargs)

        def decorate(func: F) -> F:
            built = build(func, opts, default_tz=self.tz)
            self.add(built.schedule, built.alerting)
            return func

        return decorate

    def run(self, **overrides: Any) -> int:
        """Run this clock in the current process until SIGTERM/SIGINT (like `lockclock run`)."""
        from .runtime.process import run_clock

        return run_clock(self, overrides)

    # -- embedded in another process (a web app) --------------------------------------

    def start(self, *, follow_fork: bool = True, **overrides: Any) -> BackgroundClock:
        """Run this clock on a background thread of this process and return at once (no
        signal handlers, no logging set-up: those stay the host's). A child forked while
        it runs starts its own clock, unless `follow_fork=False`."""
        from .runtime.background import BackgroundClock

        if self._background is not None and self._background.alive:
            raise ConfigError("this clock is running already: stop() it first")
        self._background = BackgroundClock(self, overrides, follow_fork=follow_fork).start()
        return self._background

    def stop(self, timeout: float | None = None) -> bool:
        """Release the lease (a standby elsewhere takes over at once) and let running
        jobs end within `timeout` seconds (default 25); True if it stopped in time."""
        handle, self._background = self._background, None
        return True if handle is None else handle.stop(timeout)

    @contextlib.contextmanager
    def running(self, **overrides: Any) -> Iterator[BackgroundClock]:
        """`with clock.running():` the clock runs for the block."""
        handle = self.start(**overrides)
        try:
            yield handle
        finally:
            self.stop()

    async def __aenter__(self) -> BackgroundClock:
        """`async with clock:` in an ASGI lifespan."""
        return await asyncio.to_thread(self.start)

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.to_thread(self.stop)


default_clock = Clock()


@plain_signature(ScheduleOptions)
def schedule(*args: Any, **kwargs: Any) -> Callable[[F], F]:
    """`@schedule(...)` on the default clock, for small apps; same options as Clock.schedule."""
    return default_clock.schedule(*args, **kwargs)

"""The user-facing object: a registry of schedules and how to run them."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from .errors import ScheduleError
from .schedule import Schedule, make_schedule

F = TypeVar("F", bound=Callable[..., Any])


class Clock:
    """Schedules plus the settings to run them; `lockclock run module:attr` runs it.

    Keyword arguments override the environment (REDIS_URL, LOCKCLOCK_*, SENTRY_DSN); leave
    them unset to configure the deployment through the environment, as on Heroku.
    `sentry=False` turns Sentry alerts off even where SENTRY_DSN is set.
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
    ) -> None:
        self.options: dict[str, Any] = {
            "redis_url": redis_url,
            "namespace": namespace,
            "lease_ttl_s": lease_ttl,
            "grace_s": grace,
            "history_limit": history_limit,
            "wait_replicas": wait_replicas,
        }
        # a DSN, or False for no Sentry alerts even if SENTRY_DSN is set
        self.options["sentry_dsn"] = sentry
        self.tz = tz
        self._schedules: dict[str, Schedule] = {}

    @property
    def schedules(self) -> list[Schedule]:
        return list(self._schedules.values())

    def add(self, sched: Schedule) -> Schedule:
        if sched.name in self._schedules:
            raise ScheduleError(
                f"duplicate schedule name {sched.name!r}: each schedule needs a unique name= "
                "(it keys the schedule's history and claims in Redis)"
            )
        self._schedules[sched.name] = sched
        return sched

    def schedule(
        self,
        cron: str | None = None,
        /,
        *,
        every: str | float | timedelta | None = None,
        at: str | None = None,
        tz: str | ZoneInfo | None = None,
        name: str | None = None,
        args: Sequence[Any] = (),
        kwargs: Mapping[str, Any] | None = None,
        catchup: str = "latest",
        catchup_limit: int = 10,
        max_lateness: float | timedelta | None = None,
        enabled: bool = True,
        monitor: bool | str | None = None,
        checkin_margin: int | timedelta | None = None,
        max_runtime: int | timedelta = 30,
        alert_late_after: float | timedelta | None = 60.0,
        failure_issue_threshold: int = 1,
        recovery_threshold: int = 1,
    ) -> Callable[[F], F]:
        """Register the decorated function; invalid input fails here, at import time."""

        def decorate(func: F) -> F:
            self.add(
                make_schedule(
                    func,
                    cron,
                    every=every,
                    at=at,
                    tz=tz if tz is not None else self.tz,
                    name=name,
                    args=args,
                    kwargs=kwargs,
                    catchup=catchup,
                    catchup_limit=catchup_limit,
                    max_lateness=max_lateness,
                    enabled=enabled,
                    monitor=monitor,
                    checkin_margin=checkin_margin,
                    max_runtime=max_runtime,
                    alert_late_after=alert_late_after,
                    failure_issue_threshold=failure_issue_threshold,
                    recovery_threshold=recovery_threshold,
                )
            )
            return func

        return decorate

    def run(self, **overrides: Any) -> int:
        """Run this clock in the current process until SIGTERM/SIGINT (like `lockclock run`)."""
        from .runner import run_clock

        return run_clock(self, overrides)


default_clock = Clock()


def schedule(
    cron: str | None = None,
    /,
    **options: Any,
) -> Callable[[F], F]:
    """`@schedule(...)` on the default clock, for small apps; same options as Clock.schedule."""
    return default_clock.schedule(cron, **options)

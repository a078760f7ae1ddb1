"""The user-facing object: decorators, the default clock, settings precedence."""

from __future__ import annotations

import pytest

from lockclock import Clock, ScheduleError
from lockclock.app import default_clock, schedule
from lockclock.errors import ConfigError
from lockclock.settings import resolve


def test_decorator_registers_and_returns_the_function() -> None:
    clock = Clock(tz="Asia/Tokyo")

    @clock.schedule("0 9 * * *", name="morning")
    def morning() -> str:
        return "ran"

    assert morning() == "ran"
    (sched,) = clock.schedules
    assert sched.name == "morning" and str(sched.tz) == "Asia/Tokyo"


def test_duplicate_names_fail_at_decoration() -> None:
    clock = Clock()
    clock.schedule("0 * * * *", name="sync")(lambda: None)
    with pytest.raises(ScheduleError, match="duplicate schedule name 'sync'"):
        clock.schedule(every="1h", name="sync")(lambda: None)


def test_default_name_is_the_qualified_name() -> None:
    clock = Clock()

    @clock.schedule(every="1h")
    def hourly() -> None: ...

    assert clock.schedules[0].name.endswith(
        "test_default_name_is_the_qualified_name.<locals>.hourly"
    )


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({}, "cron"),  # neither cron nor every
        ({"cron": "0 * * * *", "every": "1h"}, "cron"),  # both
        ({"every": "5 fortnights"}, "interval"),
        ({"cron": "61 * * * *"}, "61 * * * *"),
        ({"cron": "0 3 * * *", "tz": "Mars/Base"}, "Mars/Base"),
    ],
)
def test_invalid_schedules_fail_at_decoration(kwargs: dict[str, str], needle: str) -> None:
    cron = kwargs.pop("cron", None)
    with pytest.raises(ScheduleError, match=None) as err:
        Clock().schedule(cron, **kwargs)(lambda: None)
    assert needle in str(err.value) and "\n" not in str(err.value)


def test_module_level_schedule_uses_the_default_clock() -> None:
    before = len(default_clock.schedules)
    schedule(every="1d", at="04:30", name="test-default-clock-daily")(lambda: None)
    assert len(default_clock.schedules) == before + 1
    default_clock.forget("test-default-clock-daily")


def test_settings_precedence_and_validation() -> None:
    env = {"LOCKCLOCK_NAMESPACE": "from-env", "LOCKCLOCK_LEASE_TTL": "3"}
    s = resolve({"namespace": None}, {"namespace": "from-code"}, environ=env)
    assert (s.namespace, s.lease_ttl_s, s.grace_s) == ("from-code", 3.0, 25.0)
    s = resolve({"namespace": "from-flag"}, {"namespace": "from-code"}, environ=env)
    assert s.namespace == "from-flag"
    with pytest.raises(ConfigError, match="LOCKCLOCK_GRACE='-1'"):
        resolve(environ={"LOCKCLOCK_GRACE": "-1"})
    with pytest.raises(ConfigError, match="namespace"):
        resolve({"namespace": "has space"}, environ={})

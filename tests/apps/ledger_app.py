"""A test app whose jobs append (schedule, tick, fence, pid, start) to a ledger file.

The ledger lives outside lockclock's keys, so the tests judge lockclock by what the
jobs actually saw. Schedules are chosen by LEDGER_SCHEDULES (comma-separated).
"""

from __future__ import annotations

import asyncio
import os
import time
from datetime import timedelta

from lockclock import Clock, current_run
from tests.ledger import append_run

clock = Clock()
LEDGER = os.environ["LEDGER_FILE"]
JOB_SECONDS = float(os.environ.get("LEDGER_JOB_SECONDS", "0"))


def record() -> None:
    append_run(LEDGER, start=time.time())
    if JOB_SECONDS:
        time.sleep(JOB_SECONDS)


async def record_async() -> None:
    await asyncio.sleep(0.01)
    record()  # current_run() works inside coroutines too


def fail() -> None:
    record()
    raise RuntimeError(f"boom at fence {current_run().fence}")


def slow() -> None:
    record()
    time.sleep(1.3)  # past its max_runtime of 1 s, and done well before the next tick


_AVAILABLE = {
    "sec": {"cron": os.environ.get("LEDGER_SEC_CRON", "* * * * * *")},
    "skip": {"cron": "* * * * * *", "catchup": "skip"},
    "latest": {"cron": "* * * * * *", "catchup": "latest"},
    "all3": {"cron": "* * * * * *", "catchup": "all", "catchup_limit": 3},
    "all_maxlate5": {"cron": "* * * * * *", "catchup": "all", "catchup_limit": 100,
                     "max_lateness": 5},
    "every2s": {"every": "2s"},
    "async": {"cron": "* * * * * *", "func": record_async},
    "fail": {"cron": "* * * * * *", "func": fail},
    # for tests/test_alerts.py: late-start warnings after half a second, minute-level
    # schedules that get Sentry monitors, and a job that outlives its max_runtime
    "a_skip": {"cron": "* * * * * *", "catchup": "skip", "alert_late_after": 0.5},
    "a_latest": {"cron": "* * * * * *", "catchup": "latest", "alert_late_after": 0.5},
    "minutely": {"cron": "* * * * *"},
    "minutely_fail": {"every": "1m", "func": fail},
    "overrun": {"every": "2s", "func": slow, "max_runtime": timedelta(seconds=1)},
}  # fmt: skip

for _name in os.environ.get("LEDGER_SCHEDULES", "sec").split(","):
    _opts = dict(_AVAILABLE[_name])
    _cron = _opts.pop("cron", None)
    _func = _opts.pop("func", record)
    clock.schedule(_cron, name=_name, **_opts)(_func)

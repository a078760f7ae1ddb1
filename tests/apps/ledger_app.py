"""A test app whose jobs append (schedule, tick, fence, pid, start) to a ledger file.

The ledger lives outside lockclock's keys, so the tests judge lockclock by what the
jobs actually saw. Schedules are chosen by LEDGER_SCHEDULES (comma-separated).
"""

from __future__ import annotations

import asyncio
import json
import os
import time

from lockclock import Clock, current_run

clock = Clock()
LEDGER = os.environ["LEDGER_FILE"]
JOB_SECONDS = float(os.environ.get("LEDGER_JOB_SECONDS", "0"))


def record() -> None:
    run = current_run()
    line = json.dumps(
        {
            "schedule": run.schedule,
            "tick": run.tick_ms,
            "fence": run.fence,
            "epoch": run.epoch,
            "pid": os.getpid(),
            "start": time.time(),
            "late": run.late,
        }
    )
    fd = os.open(LEDGER, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (line + "\n").encode())
    finally:
        os.close(fd)
    if JOB_SECONDS:
        time.sleep(JOB_SECONDS)


async def record_async() -> None:
    await asyncio.sleep(0.01)
    record()  # current_run() works inside coroutines too


def fail() -> None:
    record()
    raise RuntimeError(f"boom at fence {current_run().fence}")


_AVAILABLE = {
    "sec": {"cron": "* * * * * *"},
    "skip": {"cron": "* * * * * *", "catchup": "skip"},
    "latest": {"cron": "* * * * * *", "catchup": "latest"},
    "all3": {"cron": "* * * * * *", "catchup": "all", "catchup_limit": 3},
    "all_maxlate5": {"cron": "* * * * * *", "catchup": "all", "catchup_limit": 100,
                     "max_lateness": 5},
    "every2s": {"every": "2s"},
    "async": {"cron": "* * * * * *", "func": record_async},
    "fail": {"cron": "* * * * * *", "func": fail},
}  # fmt: skip

for _name in os.environ.get("LEDGER_SCHEDULES", "sec").split(","):
    _opts = dict(_AVAILABLE[_name])
    _cron = _opts.pop("cron", None)
    _func = _opts.pop("func", record)
    clock.schedule(_cron, name=_name, **_opts)(_func)

"""The soak's app: per-second, every-2-s, per-minute and slow schedules under each
catch-up policy. Each job appends what it saw (schedule, tick, fence, epoch, clock pid,
lateness by Redis time) to CHAOS_LEDGER before doing anything else."""

from __future__ import annotations

import os
import random
import time

from lockclock import Clock, current_run
from tests.chaos.schedules import SCHEDULES
from tests.ledger import append_run

clock = Clock()
LEDGER = os.environ["CHAOS_LEDGER"]
SLOW_MAX_S = float(os.environ.get("CHAOS_SLOW_MAX_S", "4"))


def record() -> None:
    run = current_run()
    append_run(LEDGER, clock=run.clock_id)
    if run.schedule == "slow":  # long enough for a restart to land mid-job
        time.sleep(random.uniform(0, SLOW_MAX_S))


for _name, _opts in SCHEDULES.items():
    _o = dict(_opts)
    clock.schedule(_o.pop("cron", None), name=_name, **_o)(record)

"""The soak's app: per-second, every-2-s, per-minute and slow schedules under each
catch-up policy, and a long job that saves its progress step by step. Each job appends
what it saw (schedule, tick, fence, epoch, clock pid, lateness by Redis time) to
CHAOS_LEDGER before doing anything else."""

from __future__ import annotations

import os
import random
import time

from lockclock import Clock, current_run
from tests.chaos.schedules import BATCH_STEP_S, BATCH_STEPS, SCHEDULES
from tests.ledger import append_run

clock = Clock()
LEDGER = os.environ["CHAOS_LEDGER"]
SLOW_MAX_S = float(os.environ.get("CHAOS_SLOW_MAX_S", "4"))


STEPS_LEDGER = os.environ.get("CHAOS_STEPS", LEDGER + ".steps")


def record() -> None:
    run = current_run()
    append_run(LEDGER, clock=run.clock_id)
    if run.schedule == "slow":  # long enough for a restart to land mid-job
        time.sleep(random.uniform(0, SLOW_MAX_S))


def batch() -> None:
    """Each attempt is a ledger row; each step a "step" row when it starts and an
    "accepted" row once its progress save went through (with the instant just before
    the save: it was accepted after that)."""
    run = current_run()
    append_run(LEDGER, clock=run.clock_id, resumed_at=run.progress)
    for step in range(run.progress or 0, BATCH_STEPS):
        run.raise_if_stopping()
        append_run(STEPS_LEDGER, kind="step", step=step, t=time.time())
        time.sleep(BATCH_STEP_S)
        saving = time.time()
        run.save_progress(step + 1)
        append_run(STEPS_LEDGER, kind="accepted", step=step, t=saving)


for _name, _opts in SCHEDULES.items():
    _o = dict(_opts)
    _func = batch if _name == "batch" else record
    clock.schedule(_o.pop("cron", None), name=_name, **_o)(_func)

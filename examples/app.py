"""A small app for trying lockclock locally: `honcho start -c clock=2`.

Kill either clock (Ctrl-C in its pane, or kill -9 its pid) and watch the other
take over: every tick of `heartbeat` is fired exactly once, with a fence that only
grows.
"""

import logging
import time

from lockclock import current_run, schedule

log = logging.getLogger("lockclock.example")


@schedule("* * * * * */5", name="heartbeat")  # every 5 s: seconds are the last field
def heartbeat() -> None:
    run = current_run()
    log.info("heartbeat tick=%s fence=%d late=%.3fs", run.tick.isoformat(), run.fence, run.late)


@schedule(every="1m", name="report", catchup="all", catchup_limit=5)
def report() -> None:
    time.sleep(2)  # a job slower than the loop does not delay other ticks


@schedule("30 4 * * *", tz="America/New_York", name="nightly")
def nightly() -> None:
    log.info("nightly job")

"""A small app for trying lockclock locally: `make run` (2 clocks and 2 workers).

Kill any process (`kill -9` its pid: each `clock.N started (pid=...)` or
`worker.N started` line names it) and watch the others carry on: every tick of
`heartbeat` runs exactly once, with a fence that only grows; `rebuild_index`, a long
batch of 60 one-second steps, resumes from its last saved step on the other worker
after a `kill -TERM` (no step twice) or a `kill -9` (at most the step in flight twice).
"""

import logging
import time
from collections.abc import Iterator

from lockclock import Clock, current_run

log = logging.getLogger("lockclock.example")
clock = Clock(dispatch="workers")  # the clocks enqueue; `lockclock worker` runs


@clock.schedule("*/5 * * * * *", name="heartbeat")  # every 5 s: six fields, seconds first
def heartbeat() -> None:
    run = current_run()
    log.info("heartbeat tick=%s fence=%d late=%.3fs", run.tick.isoformat(), run.fence, run.late)


@clock.schedule(every="1m", name="report", catchup="all", catchup_limit=5)
def report() -> None:
    time.sleep(2)  # a job slower than the loop does not delay other ticks


def chunks(cursor: int | None) -> Iterator[tuple[int, int]]:
    """(chunk, next cursor) from the saved cursor: in a real job, rows of a table."""
    for n in range(cursor or 0, 60):
        yield n, n + 1


# In production this would be "0 3 * * *"; every 2 minutes lets you watch it resume.
@clock.schedule(every="2m", name="rebuild_index", catchup="latest")
def rebuild_index() -> None:
    run = current_run()
    log.info("rebuild_index attempt=%d from chunk %s", run.attempt, run.progress or 0)
    for chunk in run.each(chunks):  # saves the cursor after each, stops between chunks
        time.sleep(1)  # one chunk's work, in its own transaction
        log.info("rebuild_index chunk=%d done (attempt %d)", chunk, run.attempt)


@clock.schedule("30 4 * * *", tz="America/New_York", name="nightly")
def nightly() -> None:
    log.info("nightly job")

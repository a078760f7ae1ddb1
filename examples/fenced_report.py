"""A nightly job that writes through a fence, so a paused-then-resumed run can
never overwrite the newer result.

    lockclock check examples.fenced_report
"""

import os
import sqlite3

import redis

from lockclock import current_run, schedule
from lockclock.fencing import FENCED_SQL_UPDATE, FencedRedis, StaleFenceError


@schedule("0 2 * * *", tz="Europe/London", name="nightly-report")
def nightly_report() -> None:
    run = current_run()
    body = f"report for {run.tick:%Y-%m-%d}"

    # Redis: the script compares tokens atomically.
    store = FencedRedis(redis.Redis.from_url(os.environ.get("REDIS_URL", "redis://localhost")))
    try:
        store.set("report:latest", body)  # uses current_run().fence
    except StaleFenceError:
        return  # a newer run owns the result now

    # SQL: the same rule as a conditional UPDATE.
    db = sqlite3.connect(os.environ.get("REPORT_DB", "report.db"))
    with db:
        db.execute("CREATE TABLE IF NOT EXISTS report (id INTEGER PRIMARY KEY, body, fence)")
        db.execute("INSERT OR IGNORE INTO report VALUES (1, '', 0)")
        cur = db.execute(FENCED_SQL_UPDATE, {"body": body, "fence": run.fence, "id": 1})
        if cur.rowcount == 0:
            return  # refused: stale fence

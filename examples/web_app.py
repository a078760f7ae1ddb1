"""A FastAPI app with the clock embedded and the dashboard mounted: `make example` runs
two of it (as `web=2` dynos, or `gunicorn -w 2`), on the development Redis.

Both processes embed the same clock: one leads and fires `heartbeat` every 5 s, the
other stands by; stop one (Ctrl-C in its window, or `kill -9` its pid) and the other
takes over. Open http://127.0.0.1:8001/lockclock/ui/ (or :8002) and log in with the
token `make example` prints, to pause `heartbeat` and see both processes honour it.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from lockclock import Clock, current_run
from lockclock.web import create_app

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
log = logging.getLogger("lockclock.example")
clock = Clock()  # inline: the web process runs these short jobs itself


@clock.schedule("*/5 * * * * *", name="heartbeat")
def heartbeat() -> None:
    run = current_run()
    log.warning(
        "heartbeat tick=%s fence=%d trigger=%s", run.tick.isoformat(), run.fence, run.trigger
    )


@clock.schedule("0 3 * * *", name="nightly_report")
def nightly_report() -> None:
    log.info("nightly report for %s", current_run().tick.date())


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    async with clock:  # started with the app, stopped (lease released) with it
        yield


app = FastAPI(lifespan=lifespan)
app.mount("/lockclock", create_app())  # the JSON API, /metrics and the dashboard


@app.get("/")
def index() -> dict[str, str]:
    return {"app": "example", "ops": "/lockclock/ui/"}

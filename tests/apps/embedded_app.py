"""A stand-in for a web process that embeds the clock (as `gunicorn -w 3` would run
three): it starts worker_app's clock in the background, serves nothing, and on SIGTERM
stops the clock the way an app's shutdown hook would. Prints "ready <clock id>"."""

from __future__ import annotations

import signal
import sys
import threading
from types import FrameType

from tests.apps.worker_app import clock

done = threading.Event()


def on_term(_signum: int, _frame: FrameType | None) -> None:
    done.set()


signal.signal(signal.SIGTERM, on_term)
handle = clock.start()
print(f"ready {handle.clock_id}", flush=True)
done.wait()
stopped = clock.stop(timeout=5)
print(f"stopped {stopped}", flush=True)
sys.exit(0 if stopped else 1)

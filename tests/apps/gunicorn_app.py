"""A WSGI app embedding worker_app's clock the way a gunicorn user would. The clock starts
when this module is imported (GUNICORN_CLOCK_STARTS=import, the default): so in each
worker, or once in the master with `--preload`, each forked worker then starting its own.
With GUNICORN_CLOCK_STARTS=post_fork, gunicorn_conf.py starts it in each worker instead.
Every response names the process and its clock id; lockclock's events go to stdout as
logfmt lines (lockclock's own set-up, as `lockclock run` makes it)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from typing import Any

from lockclock.runtime import logfmt
from tests.apps.worker_app import clock

logfmt.setup()

handle = clock.start() if os.environ.get("GUNICORN_CLOCK_STARTS", "import") == "import" else None


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    body = json.dumps({"pid": os.getpid(), "clock": handle and handle.clock_id}).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body]

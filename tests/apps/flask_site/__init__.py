"""A minimal Flask project embedding the clock as the README's Flask snippet does: the
app factory here, the clock started in wsgi.py. Tests copy this folder and run it with the
copy's parent on PYTHONPATH, so it imports as `flask_site`."""

from __future__ import annotations

import logging
import os
import sys

from flask import Flask

from lockclock.runtime.logfmt import LogfmtFormatter


def create_app() -> Flask:
    app = Flask(__name__)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(LogfmtFormatter())
    events = logging.getLogger("lockclock")
    events.handlers[:] = [handler]
    events.setLevel(logging.INFO)
    events.propagate = False

    @app.get("/")
    def whoami() -> dict[str, int]:
        return {"pid": os.getpid()}

    return app

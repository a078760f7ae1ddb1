"""A minimal Flask project embedding the clock as the README's Flask snippet does: the
app factory here, the clock started in wsgi.py. Tests copy this folder and run it with the
copy's parent on PYTHONPATH, so it imports as `flask_site`."""

from __future__ import annotations

import os

from flask import Flask

from lockclock.runtime import logfmt


def create_app() -> Flask:
    app = Flask(__name__)
    logfmt.setup()

    @app.get("/")
    def whoami() -> dict[str, int]:
        return {"pid": os.getpid()}

    return app

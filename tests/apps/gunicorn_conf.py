"""gunicorn settings that start the clock in each worker after the fork, as the README
advises with `--preload`: the master then runs no clock."""

from __future__ import annotations

from typing import Any


def post_fork(server: Any, worker: Any) -> None:
    from tests.apps import gunicorn_app

    gunicorn_app.handle = gunicorn_app.clock.start()

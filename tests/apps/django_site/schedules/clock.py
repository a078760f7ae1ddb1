"""The project's clock: tests/apps/worker_app.py's (its schedules, its ledger)."""

from tests.apps.worker_app import clock

__all__ = ["clock"]

"""The README's Django snippet, word for word but for the module path."""

from __future__ import annotations

import os
import sys

from django.apps import AppConfig


class SchedulesConfig(AppConfig):
    name = "django_site.schedules"

    def ready(self) -> None:
        # where the app is served only: not in management commands (migrate, shell, ...),
        # nor in runserver's reloader process (its child, RUN_MAIN=true, serves)
        runserver = "runserver" in sys.argv and (
            os.environ.get("RUN_MAIN") == "true" or "--noreload" in sys.argv
        )
        if runserver or sys.argv[0].endswith(("gunicorn", "uvicorn")):
            from django_site.schedules.clock import clock

            clock.start()

"""Settings for the test project: one app (schedules), SQLite in DJANGO_DB, lockclock's
events to stderr as logfmt lines."""

from __future__ import annotations

import os

SECRET_KEY = "tests-only"
DEBUG = True
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS = ["django_site.schedules"]
ROOT_URLCONF = "django_site.urls"
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.environ["DJANGO_DB"]}}
USE_TZ = True
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"logfmt": {"()": "lockclock.runtime.logfmt.LogfmtFormatter"}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "logfmt"}},
    "loggers": {"lockclock": {"handlers": ["stderr"], "level": "INFO", "propagate": False}},
}

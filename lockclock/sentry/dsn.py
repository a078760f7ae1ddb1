"""Reading a Sentry DSN setting, with the SDK's own parser."""

from __future__ import annotations

from typing import Any


def parse_dsn_setting(value: Any) -> str:
    """SENTRY_DSN or Clock(sentry=...): a DSN string, or False for off (as "").
    Raises ValueError (the SDK's BadDsn) or TypeError for anything else."""
    if value is False:
        return ""
    if not isinstance(value, str):
        raise TypeError(value)
    from sentry_sdk.utils import Dsn  # only when a DSN is set: the SDK is slow to import

    Dsn(value.strip())
    return value.strip()

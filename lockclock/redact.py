"""Secrets never reach a log line or an error message: passwords in Redis URLs, keys in
Sentry DSNs."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

_USERINFO = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)(?P<user>[^:@/]*):(?P<pw>[^@/]*)@", re.I)


def redact_url(url: str) -> str:
    """Hide the password in a Redis URL or a DSN, keep everything else readable."""
    return _USERINFO.sub(lambda m: f"{m['scheme']}{m['user']}:***@", url)


def redact_dsn(dsn: str) -> str:
    """A Sentry DSN without its keys (public and secret), for log lines and errors."""
    try:
        parts = urlsplit(dsn)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "***"
    if not parts.scheme or not host:
        return "***"
    return f"{parts.scheme}://***@{host}{port}{parts.path}"

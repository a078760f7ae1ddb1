"""Muting a schedule's Sentry Crons monitor for a pause, through Sentry's API, so a
paused schedule's ticks are not reported as missed check-ins.

Needs SENTRY_AUTH_TOKEN (a token with the `project:write` scope) and SENTRY_ORG (the
organisation's slug); the API lives at SENTRY_URL (default https://sentry.io). Without
a token nothing is called and `pause` says that Sentry will report the missed
check-ins. A failure is a warning, never a refused pause: the pause is what matters.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class MonitorMuter:
    token: str
    org: str
    base_url: str = "https://sentry.io"
    timeout_s: float = 5.0

    @classmethod
    def from_env(cls) -> MonitorMuter | None:
        token = os.environ.get("SENTRY_AUTH_TOKEN", "").strip()
        org = os.environ.get("SENTRY_ORG", "").strip()
        if not token or not org:
            return None
        base = os.environ.get("SENTRY_URL", "").strip() or "https://sentry.io"
        return cls(token=token, org=org, base_url=base.rstrip("/"))

    def set_muted(self, slug: str, muted: bool) -> str | None:
        """Mute or unmute the monitor; None when done, else what went wrong (one line,
        the token never in it)."""
        url = (
            f"{self.base_url}/api/0/organizations/{urllib.parse.quote(self.org)}"
            f"/monitors/{urllib.parse.quote(slug)}/"
        )
        req = urllib.request.Request(
            url,
            data=json.dumps({"isMuted": muted}).encode(),
            method="PUT",
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(req, timeout=self.timeout_s) as resp:
                resp.read()
            return None
        except urllib.error.HTTPError as exc:
            return f"Sentry answered {exc.code} for monitor {slug!r}"
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            return f"Sentry's API at {self.base_url} is unreachable ({reason})"

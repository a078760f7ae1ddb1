"""A browser's form POST (application/x-www-form-urlencoded), field by field. A bad
field is an HTTPError 400 whose text the page shows as the flash message, so the user
fixes it and sends the form again."""

from __future__ import annotations

from datetime import datetime, timezone
from urllib.parse import parse_qs

from ..http import HTTPError, Request
from ..views import MAX_REASON


class Form:
    def __init__(self, request: Request) -> None:
        try:
            text = request.body.decode("utf-8")
        except UnicodeDecodeError:
            raise HTTPError(400, "the form is not UTF-8") from None
        self.fields = parse_qs(text, keep_blank_values=True, max_num_fields=50)

    def get(self, name: str) -> str | None:
        values = self.fields.get(name)
        return values[-1] if values else None

    def text(self, name: str, *, required: bool = False, label: str = "") -> str:
        value = (self.get(name) or "").strip()
        if required and not value:
            raise HTTPError(400, f"give a {label or name} (the audit log keeps it)")
        if len(value) > MAX_REASON:
            raise HTTPError(400, f"the {label or name} is longer than {MAX_REASON} characters")
        return value

    def flag(self, name: str) -> bool:
        return (self.get(name) or "") in ("1", "on", "true", "yes")

    def choice(self, name: str, choices: tuple[str, ...], default: str) -> str:
        value = self.get(name) or default
        if value not in choices:
            raise HTTPError(400, f"{name} must be one of {', '.join(choices)}")
        return value

    def number(self, name: str, *, default: int, lo: int, hi: int) -> int:
        raw = (self.get(name) or "").strip()
        try:
            value = int(raw) if raw else default
        except ValueError:
            raise HTTPError(400, f"{name} must be a whole number") from None
        if not lo <= value <= hi:
            raise HTTPError(400, f"{name} must be from {lo} to {hi}")
        return value

    def instant(self, name: str, *, label: str = "") -> datetime | None:
        """ISO 8601; without a zone (a datetime-local field) it is UTC, as the page says."""
        raw = (self.get(name) or "").strip()
        if not raw:
            return None
        try:
            moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            raise HTTPError(
                400, f"{label or name}: {raw!r} is not a time, e.g. 2026-12-02T08:00 (UTC)"
            ) from None
        return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)

    def tick_ms(self, name: str) -> int | None:
        """A run's tick as the cancel form lists it (epoch ms)."""
        raw = (self.get(name) or "").strip()
        if not raw:
            return None
        if not raw.isdigit():
            raise HTTPError(400, f"{name} must be a run's tick")
        return int(raw)

"""JSON in and out: every instant a document holds as epoch ms gets an ISO 8601 UTC
sibling (`claimed_ms` -> `claimed_at`, `tick` -> `tick_at`, an audit entry's `ms` ->
`at`), so a browser or `jq` reads it and a program keeps the exact number; request
bodies are checked field by field, with a fixable 400 for a misspelt or mistyped one.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Collection
from datetime import datetime, timezone
from typing import Any

from ..logs import iso_ms
from .http import HTTPError, Request

INSTANTS = frozenset(
    {
        "tick", "ms", "claimed_ms", "enqueued_ms", "started_ms", "attempt_started_ms",
        "finished_ms", "deliverable_ms", "redelivered_ms", "progress_ms", "last_ms",
        "first_ms", "ended_ms", "requested_ms", "answered_ms", "since_ms", "until_ms",
        "heartbeat_ms", "for_tick", "from_ms", "to_ms",
    }
)  # fmt: skip
OPAQUE = frozenset({"progress"})  # a job's own JSON: its keys are not ours to read
MAX_REASON = 1000


def with_times(value: Any) -> Any:
    if isinstance(value, list):
        return [with_times(v) for v in value]
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for key, item in value.items():
        out[key] = item if key in OPAQUE else with_times(item)
        if key in INSTANTS and type(item) is int and item > 0:
            sibling = (
                "at" if key == "ms" else key[:-3] + "_at" if key.endswith("_ms") else key + "_at"
            )
            if sibling not in value:
                out[sibling] = iso_ms(item)
    return out


class Body:
    """A POST's JSON object; each getter raises HTTPError 400 with what to send."""

    def __init__(self, request: Request, allowed: Collection[str]) -> None:
        try:
            doc = json.loads(request.body.decode("utf-8")) if request.body.strip() else {}
        except (UnicodeDecodeError, ValueError) as exc:
            raise HTTPError(400, f"the body is not valid JSON ({exc})") from None
        if not isinstance(doc, dict):
            raise HTTPError(400, 'the body must be a JSON object, e.g. {"reason": "why"}')
        for key in doc:
            if key not in allowed:
                close = difflib.get_close_matches(str(key), list(allowed), n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                known = ", ".join(sorted(allowed)) or "none"
                raise HTTPError(400, f"unknown field {key!r}{hint}; this route takes: {known}")
        self.doc: dict[str, Any] = doc

    def text(self, name: str, *, required: bool = False, limit: int = MAX_REASON) -> str:
        value = self.doc.get(name)
        if value is None or value == "":
            if required:
                raise HTTPError(400, f"{name!r} is required (kept in the audit log)")
            return ""
        if not isinstance(value, str):
            raise HTTPError(400, f"{name!r} must be a string")
        if len(value) > limit:
            raise HTTPError(400, f"{name!r} is longer than {limit} characters")
        if required and not value.strip():
            raise HTTPError(400, f"{name!r} is required (kept in the audit log)")
        return value

    def flag(self, name: str) -> bool:
        value = self.doc.get(name, False)
        if not isinstance(value, bool):
            raise HTTPError(400, f"{name!r} must be true or false")
        return value

    def number(self, name: str, *, default: int, lo: int, hi: int) -> int:
        value = self.doc.get(name, default)
        if type(value) is not int or not lo <= value <= hi:
            raise HTTPError(400, f"{name!r} must be a whole number from {lo} to {hi}")
        return value

    def choice(self, name: str, choices: tuple[str, ...], default: str) -> str:
        value = self.doc.get(name, default)
        if value not in choices:
            raise HTTPError(400, f"{name!r} must be one of {', '.join(choices)}")
        return str(value)

    def instant(self, name: str) -> datetime | None:
        """An ISO 8601 time with a zone (or epoch ms), as an aware datetime."""
        value = self.doc.get(name)
        if value is None or value == "":
            return None
        return parse_instant(name, value)

    def instant_ms(self, name: str) -> int | None:
        """As `instant`, in epoch ms (an integer given is taken as is: a record's tick)."""
        value = self.doc.get(name)
        if type(value) is int:
            return value
        moment = self.instant(name)
        return None if moment is None else round(moment.timestamp() * 1000)


def parse_instant(name: str, value: Any) -> datetime:
    example = "e.g. 2026-12-02T08:00:00Z"
    if type(value) is int:
        return datetime.fromtimestamp(value / 1000, tz=timezone.utc)
    if not isinstance(value, str):
        raise HTTPError(400, f"{name!r} must be an ISO 8601 time, {example}")
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise HTTPError(400, f"{name!r}: invalid time {value!r}, {example}") from None
    if moment.tzinfo is None:
        raise HTTPError(400, f"{name!r} needs a time zone, {example}")
    return moment


def query_int(request: Request, name: str, default: int, lo: int, hi: int) -> int:
    raw = request.arg(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise HTTPError(400, f"?{name}= must be a whole number ({lo}-{hi})") from None
    if not lo <= value <= hi:
        raise HTTPError(400, f"?{name}= must be between {lo} and {hi}")
    return value

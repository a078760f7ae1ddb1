"""How values read on a page: instants (UTC, with how long ago), durations, outcome
badges in the status colours, and success rates. One place, so every page agrees."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone

from ...coordination.records import Pause, RunRecord
from ...logs import iso_ms
from .markup import Markup, tag

# outcome -> colour class (static/dashboard.css): good, bad, warn, run, calm, paused
TONE = {
    "ok": "good",
    "error": "bad",
    "timed_out": "bad",
    "lost": "bad",
    "missed": "bad",
    "in doubt": "warn",
    "interrupted": "warn",
    "skipped": "calm",
    "cancelled": "calm",
    "paused": "paused",
    "running": "run",
    "queued": "run",
    "waiting": "run",
}
# what a success rate counts: runs that should have happened (skips, cancels and pauses
# are policy or an operator's choice, not failures)
RATE_COUNTED = ("ok", "error", "timed_out", "lost", "missed")


def utc(ms: int | None) -> str:
    if not ms:
        return "—"
    moment = datetime.fromtimestamp(ms / 1000, tz=timezone.utc)
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def span(seconds: float) -> str:
    """A length of time as people say it: 350 ms, 4.2 s, 3 min 5 s, 2 h 10 min, 3 d 4 h."""
    s = abs(seconds)
    if s < 1:
        return f"{round(s * 1000)} ms"
    if s < 60:
        return f"{s:.1f} s"
    minutes, secs = divmod(int(s), 60)
    if minutes < 60:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def relative(ms: int, now_ms: int) -> str:
    delta = (ms - now_ms) / 1000
    if abs(delta) < 1:
        return "now"
    return f"in {span(delta)}" if delta > 0 else f"{span(delta)} ago"


def when(ms: int | None, now_ms: int) -> Markup:
    """The instant in UTC, with how far from now; its exact ISO form as a tooltip."""
    if not ms:
        return Markup("—")
    iso = iso_ms(ms)
    return tag(
        "time",
        utc(ms),
        " ",
        tag("span", f"({relative(ms, now_ms)})", class_="rel"),
        datetime=iso,
        title=iso,
    )


def duration(ms: int | None) -> str:
    return "—" if ms is None else span(ms / 1000)


def badge(text: str, tone: str | None = None) -> Markup:
    return tag("span", text, class_=f"badge tone-{tone or TONE.get(text, 'calm')}")


def outcome(record: RunRecord | None) -> Markup:
    if record is None:
        return tag("span", "no run yet", class_="muted")
    shown = record.shown_status
    tone = TONE.get(shown) or TONE.get(record.status, "calm")
    label = f"{shown} \u00d7{record.count}" if record.count and record.count > 1 else shown
    return badge(label, tone)


def paused_badge(pause: Pause) -> Markup:
    who = "all schedules" if pause.target == "*" else "paused"
    until = f" until {utc(pause.until_ms)}" if pause.until_ms else ""
    title = f"{who} since {utc(pause.since_ms)}{until} by {pause.actor or '?'}: {pause.reason}"
    return tag(
        "span",
        badge("paused", "paused"),
        " ",
        tag("span", pause.reason, class_="reason"),
        class_="paused-note",
        title=title,
    )


def success_rate(counts: Mapping[str, int]) -> Markup:
    """ok over the runs that should have happened: '97% (33/34)', or a dash."""
    total = sum(counts.get(k, 0) for k in RATE_COUNTED)
    if not total:
        return tag("span", "—", class_="muted", title="no run ended in this window")
    ok = counts.get("ok", 0)
    pct = 100 * ok / total
    tone = "good" if ok == total else "warn" if pct >= 90 else "bad"
    text = f"{pct:.0f}%" if ok in (0, total) or pct < 99.5 else f"{pct:.1f}%"
    detail = ", ".join(f"{k} {v}" for k, v in counts.items() if v)
    return tag(
        "span", text, " ", tag("small", f"({ok}/{total})"), class_=f"rate tone-{tone}", title=detail
    )

"""A schedule's recent runs as one inline SVG, drawn on the server: one slot per record,
oldest on the left; above the axis how long each run took, below it how late it
started; misses, skips and pause spans marked where they fell. Square-root scales, so
a 2 s run still shows beside a 20 min one. Every slot has a tooltip (SVG <title>),
and colours come from the page's stylesheet, so it needs no script."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from ...coordination.records import RunRecord
from .fmt import TONE, duration, span, utc
from .markup import Markup, esc, join, tag

W, H = 960, 236
LEFT, RIGHT = 86, 12
TOP, AXIS, BELOW = 14, 124, 74  # duration lane from TOP to AXIS; lateness lane below it
MIN_BAR = 4  # a run that took no time still shows its colour
LABEL_W = 130  # room one time label takes on the axis
MIN_SLOTS = 24  # fewer records still get slim bars, packed on the right (now)
_MARKS = {"missed", "skipped", "paused"}  # marked, not drawn as bars: nothing ran


@dataclass(frozen=True)
class Point:
    record: RunRecord
    late_ms: int | None
    took_ms: int | None
    live: bool  # not ended: its bar grows up to now


def points(records: Sequence[RunRecord], now_ms: int) -> list[Point]:
    """Oldest first."""
    out = []
    for r in sorted(records, key=lambda r: r.tick):
        start = r.started_ms
        late: int | None = None
        if r.status not in _MARKS:
            late = start - r.tick if start else r.late_ms
        took = r.duration_ms
        if took is None and start and not r.ended:
            took = max(now_ms - start, 0)
        out.append(Point(r, None if late is None else max(late, 0), took, not r.ended))
    return out


def _scale(value: int, top: int, height: int) -> float:
    return 0.0 if value <= 0 or top <= 0 else height * math.sqrt(value / top)


def _tip(p: Point) -> str:
    r = p.record
    what = r.shown_status + (f" \u00d7{r.count}" if r.count and r.count > 1 else "")
    parts = [f"{utc(r.tick)} · {what}"]
    if r.status == "paused":
        parts.append(f"paused {utc(r.first_ms or r.tick)} to {utc(r.last_ms or r.tick)}")
    if p.late_ms is not None:
        parts.append(f"started {span(p.late_ms / 1000)} late")
    if p.took_ms is not None:
        parts.append(("running for " if p.live else "took ") + duration(p.took_ms))
    if r.fence:
        parts.append(f"fence {r.fence}")
    if r.error:
        parts.append(r.error[:200])
    return " · ".join(parts)


def _slot(p: Point, x: float, width: float, top_took: int, top_late: int) -> Markup:
    r = p.record
    tone = TONE.get(r.shown_status) or TONE.get(r.status, "calm")
    bar_w = max(width * 0.72, 1.5)
    left = x + (width - bar_w) / 2
    mid = x + width / 2
    shapes: list[Markup] = []
    if r.status == "paused":
        shapes.append(_rect(x, TOP, width, AXIS + BELOW - TOP, "pause-span"))
        shapes.append(_text(mid, AXIS + 5, "‖", "mark tone-paused"))
    elif r.status == "missed":
        shapes.append(_rect(x, TOP, width, AXIS + BELOW - TOP, "miss-span"))
        shapes.append(_text(mid, AXIS + 5, "?" if r.doubt else "\u00d7", f"mark tone-{tone}"))
    elif r.status == "skipped":
        shapes.append(_text(mid, AXIS + 5, "↷", "mark tone-calm"))
    else:
        took = _scale(p.took_ms or 0, top_took, AXIS - TOP)
        late = _scale(p.late_ms or 0, top_late, BELOW - 4)
        live = " live" if p.live else ""
        shapes.append(
            _rect(
                left, AXIS - max(took, MIN_BAR), bar_w, max(took, MIN_BAR), f"dur tone-{tone}{live}"
            )
        )
        shapes.append(_rect(left, AXIS + 2, bar_w, max(late, 1), "late"))
    return tag("g", tag("title", _tip(p)), *shapes, class_=f"slot st-{r.status}")


def _rect(x: float, y: float, w: float, h: float, cls: str) -> Markup:
    return Markup(
        f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" class="{esc(cls)}"/>'
    )


def _text(x: float, y: float, text: str, cls: str, anchor: str = "middle") -> Markup:
    return tag("text", text, x=f"{x:.1f}", y=f"{y:.1f}", class_=cls, text_anchor=anchor)


def timeline(records: Sequence[RunRecord], now_ms: int, *, label: str) -> Markup:
    pts = points(records, now_ms)
    plot = W - LEFT - RIGHT
    slots = max(len(pts), MIN_SLOTS)
    width = plot / slots
    first = LEFT + (slots - len(pts)) * width
    top_took = max((p.took_ms or 0 for p in pts), default=0)
    top_late = max((p.late_ms or 0 for p in pts), default=0)
    axis = f'<line x1="{LEFT}" y1="{AXIS + 1}" x2="{W - RIGHT}" y2="{AXIS + 1}" class="axis"/>'
    most_took = duration(top_took) if top_took else "—"
    most_late = span(top_late / 1000) if top_late else "—"
    body = [
        tag("title", label, id="chart-title"),
        Markup(axis),
        _text(LEFT - 8, TOP + 10, "duration", "lane", "end"),
        _text(LEFT - 8, TOP + 24, f"max {most_took}", "scale", "end"),
        _text(LEFT - 8, AXIS + 18, "lateness", "lane", "end"),
        _text(LEFT - 8, AXIS + 32, f"max {most_late}", "scale", "end"),
    ]
    body += [_slot(p, first + i * width, width, top_took, top_late) for i, p in enumerate(pts)]
    if pts:
        y = AXIS + BELOW + 18
        oldest, newest = utc(pts[0].record.tick), utc(pts[-1].record.tick)
        if len(pts) > 1 and W - RIGHT - first > 2 * LABEL_W:
            body.append(_text(first, y, oldest, "tick", "start"))
            body.append(_text(W - RIGHT, y, newest, "tick", "end"))
        else:  # packed on the right: one label, the span
            text = newest if len(pts) == 1 else f"{oldest} to {newest}"
            body.append(_text(W - RIGHT, y, text, "tick", "end"))
    else:
        body.append(_text(LEFT + plot / 2, AXIS - 40, "no runs recorded yet", "empty"))
    return tag(
        "svg",
        join(body),
        xmlns="http://www.w3.org/2000/svg",
        viewBox=f"0 0 {W} {H}",
        class_="timeline",
        role="img",
        aria_labelledby="chart-title",
        preserveAspectRatio="xMinYMin meet",
    )

"""The schedule page's forms: Run now, Pause, Resume, Backfill, Cancel. Each asks for
a reason (the audit log keeps it) and carries the CSRF token; only an operator's
session (the API token) sees them, and the server checks both again on the POST."""

from __future__ import annotations

from ...ops.describe import ScheduleDescription
from .fmt import utc
from .markup import Markup, join, path_part, tag, void
from .page import Ctx


def _field(label: str, control: Markup, hint: str = "") -> Markup:
    return tag("label", tag("span", label), control, tag("small", hint) if hint else "")


def _reason(action: str) -> Markup:
    box = void(
        "input",
        name="reason",
        type="text",
        required=True,
        maxlength="1000",
        placeholder=f"why {action}? (kept in the audit log)",
        autocomplete="off",
    )
    return _field("Reason", box)


def _check(name: str, label: str, checked: bool = False) -> Markup:
    box = void("input", type="checkbox", name=name, value="1", checked=checked)
    return tag("label", box, " ", label, class_="check")


def _when(name: str, label: str, *, required: bool = False, hint: str = "") -> Markup:
    box = void("input", type="datetime-local", name=name, step="1", required=required)
    return _field(label, box, hint)


def _button(text: str, tone: str = "") -> Markup:
    return tag("button", text, type="submit", class_=f"btn {tone}".strip())


def _form(ctx: Ctx, base: str, action: str, title: str, *parts: object) -> Markup:
    return tag(
        "div",
        tag("h3", title),
        ctx.form(f"{base}/{action}", *parts, class_=f"control control-{action}", label=title),
        class_="control-box",
    )


def controls(ctx: Ctx, d: ScheduleDescription) -> Markup:
    base = f"/ui/schedules/{path_part(d.name)}"
    forms = [
        _form(
            ctx,
            base,
            "trigger",
            "Run now",
            _reason("run it now"),
            _check("force", "even if a run has not ended (overlap policy)"),
            _button("Run now"),
        ),
        _form(
            ctx,
            base,
            "pause",
            "Update pause" if d.pause else "Pause",
            _reason("pause"),
            _when("until", "Until (UTC, optional)", hint="empty: until resumed"),
            _button("Update pause" if d.pause else "Pause", "warn"),
        ),
    ]
    if d.pause is not None:
        catchup = tag(
            "select",
            tag("option", "skip the paused ticks", value="skip", selected=True),
            tag("option", "run the latest paused tick", value="latest"),
            tag("option", "run every paused tick (at most 100)", value="all"),
            name="catchup",
        )
        forms.append(
            _form(
                ctx,
                base,
                "resume",
                "Resume",
                _reason("resume"),
                _field("Catch-up", catchup),
                _button("Resume", "good"),
            )
        )
    forms.append(
        _form(
            ctx,
            base,
            "backfill",
            "Backfill",
            _reason("backfill"),
            _when("from", "From (UTC)", required=True),
            _when("to", "To (UTC)", required=True),
            _field(
                "At most",
                void("input", type="number", name="max", value="100", min="1", max="10000"),
            ),
            _check("dry_run", "plan only (dry run)", checked=True),
            _check("include_unknown", "include ticks older than the history kept"),
            _button("Backfill"),
        )
    )
    options = [tag("option", "every run not ended", value="")] + [
        tag("option", f"{utc(r.tick)} ({r.status}, fence {r.fence or '—'})", value=str(r.tick))
        for r in d.running
    ]
    note = "" if d.running else tag("p", "Nothing of it runs now.", class_="muted")
    forms.append(
        _form(
            ctx,
            base,
            "cancel",
            "Cancel",
            note,
            _reason("cancel"),
            _field("Run", tag("select", join(options), name="tick")),
            _button("Cancel runs", "bad"),
        )
    )
    return tag("div", join(forms), class_="controls")

"""HTML built safely with the stdlib: every value is escaped unless it is `Markup`
(already HTML we built), the way a template engine's autoescape works, so a schedule
name, a reason or an error text can never become markup. Page shells are
`string.Template` files shipped as package data (templates/)."""

from __future__ import annotations

import functools
import html
from collections.abc import Iterable
from importlib import resources
from string import Template
from urllib.parse import quote


class Markup(str):
    """A string that is HTML already: `esc` leaves it as it is; `+` escapes the other
    side unless it is Markup too."""

    __slots__ = ()

    def __add__(self, other: str) -> Markup:
        return Markup(str.__add__(self, esc(other)))

    def __radd__(self, other: str) -> Markup:  # "text" + Markup: Python asks us first
        return Markup(str.__add__(esc(other), self))


def esc(value: object) -> Markup:
    if isinstance(value, Markup):
        return value
    return Markup(html.escape("" if value is None else str(value), quote=True))


def join(parts: Iterable[object], sep: str = "") -> Markup:
    return Markup(sep.join(esc(p) for p in parts))


def tag(name: str, /, *children: object, **attrs: object) -> Markup:
    """`<name attrs>children</name>`; attribute names take `_` for `-` (and a trailing
    `_` is dropped: `class_`); True is a bare attribute, None / False leave it out."""
    out = []
    for key, value in attrs.items():
        if value is None or value is False:
            continue
        attr = key.rstrip("_").replace("_", "-")
        out.append(f" {attr}" if value is True else f' {attr}="{esc(value)}"')
    return Markup(f"<{name}{''.join(out)}>{join(children)}</{name}>")


def void(name: str, /, **attrs: object) -> Markup:
    """An element with no content (input, br, meta)."""
    return Markup(tag(name, **attrs)[: -len(f"</{name}>")])


def path_part(text: str) -> str:
    """One path segment of a link (a schedule name) with everything else quoted."""
    return quote(text, safe="")


@functools.cache
def asset(name: str) -> str:
    """A file shipped beside this module (templates/..., static/...), read once."""
    return resources.files(__name__.rpartition(".")[0]).joinpath(name).read_text(encoding="utf-8")


def render(template: str, **values: object) -> Markup:
    """A templates/ file with `$name` filled in, each value escaped unless Markup."""
    text = Template(asset(f"templates/{template}")).substitute(
        {k: esc(v) for k, v in values.items()}
    )
    return Markup(text)

"""The few building blocks pages are made of: a titled section, a table, a list of
terms. Kept apart from the pages so they all look alike."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from .markup import Markup, join, tag


def section(title: str, *content: object, id_: str | None = None, note: object = None) -> Markup:
    head = tag("h2", title, tag("small", note) if note else "")
    return tag("section", head, *content, class_="card", id=id_)


def table(
    headers: Sequence[str], rows: Iterable[Sequence[object]], *, empty: str, class_: str = ""
) -> Markup:
    body = [tag("tr", *(tag("td", cell) for cell in row)) for row in rows]
    if not body:
        return tag("p", empty, class_="muted empty")
    head = tag("thead", tag("tr", *(tag("th", h, scope="col") for h in headers)))
    return tag(
        "div",
        tag("table", head, tag("tbody", join(body)), class_=class_ or None),
        class_="scroll",
    )


def terms(pairs: Iterable[tuple[str, object]]) -> Markup:
    return tag("dl", join(tag("dt", k) + tag("dd", v) for k, v in pairs), class_="terms")


def link(href: str, text: object) -> Markup:
    return tag("a", text, href=href)


def code(text: object) -> Markup:
    return tag("code", text)

"""What every page shares: the request's context (where the app is mounted, who looks,
the CSRF token, the flash message), the shell around a page's body, and the answers
(HTML with strict security headers, 303 redirects that set or clear cookies)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..http import Request, Response
from ..router import Call
from .gate import PREFIX, Viewer
from .markup import Markup, render, tag, void
from .session import (
    FLASH_COOKIE,
    SESSION_COOKIE,
    SESSION_TTL_S,
    cookie_header,
    csrf_token,
    encode_session,
    open_flash,
    read_cookies,
    seal_flash,
)

HTML = "text/html; charset=utf-8"
# No script runs, nothing loads from elsewhere, no other site may frame a page.
SECURITY = (
    (
        "content-security-policy",
        "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'",
    ),
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "same-origin"),
)
NAV = (
    ("/ui/", "Overview"),
    ("/ui/running", "Running now"),
    ("/ui/outages", "Outages & missed"),
    ("/ui/audit", "Audit log"),
)


@dataclass(kw_only=True)
class Ctx:
    """One dashboard request: the router's call and who is looking."""

    call: Call
    viewer: Viewer
    namespace: str = ""
    cookies: list[str] = field(default_factory=list)  # Set-Cookie values to send

    @property
    def request(self) -> Request:
        return self.call.request

    @property
    def root(self) -> str:
        return self.request.root_path.rstrip("/")

    def url(self, path: str) -> str:
        """A path of this app as the browser reaches it (behind the host app's mount)."""
        return self.root + path

    @property
    def cookie_path(self) -> str:
        return self.root + PREFIX

    @property
    def csrf(self) -> str:
        session = self.viewer.session
        return "" if session is None else csrf_token(self.viewer.keys, session)

    def form(self, action: str, *fields: object, class_: str = "", label: str = "") -> Markup:
        """A POST form to `action` carrying the CSRF token."""
        return tag(
            "form",
            void("input", type="hidden", name="csrf", value=self.csrf),
            *fields,
            method="post",
            action=self.url(action),
            class_=class_ or None,
            aria_label=label or None,
        )

    def set_cookie(self, name: str, value: str, max_age: int) -> None:
        secure = self.viewer.secure
        self.cookies.append(
            cookie_header(name, value, path=self.cookie_path, max_age=max_age, secure=secure)
        )

    def start_session(self) -> None:
        session = self.viewer.session
        if session is not None:
            self.set_cookie(
                SESSION_COOKIE, encode_session(self.viewer.keys, session), SESSION_TTL_S
            )

    def end_session(self) -> None:
        self.set_cookie(SESSION_COOKIE, "", 0)

    def flash(self, kind: str, text: str) -> None:
        """A message for the next page (after the redirect), signed, a minute at most."""
        self.set_cookie(FLASH_COOKIE, seal_flash(self.viewer.keys, kind, text[:600]), 60)

    def take_flash(self) -> tuple[str, str] | None:
        """The message a redirect left, once: its cookie is cleared with this page."""
        values = read_cookies(self.request.header("cookie"), FLASH_COOKIE)
        if not values:
            return None
        self.set_cookie(FLASH_COOKIE, "", 0)
        return next((m for v in values if (m := open_flash(self.viewer.keys, v))), None)

    def headers(self, *extra: tuple[str, str]) -> tuple[tuple[str, str], ...]:
        return (*SECURITY, *extra, *(("set-cookie", c) for c in self.cookies))


def _who(ctx: Ctx) -> Markup:
    viewer = ctx.viewer
    if viewer.power is None:
        return Markup("")
    role = "read-only" if not viewer.can_write else "operator"
    label = tag("span", f"{viewer.actor} · {role}", class_=f"role role-{role}")
    if viewer.hosted:
        return label
    button = tag("button", "Log out", type="submit", class_="link")
    return Markup(label + ctx.form("/ui/logout", button, class_="logout", label="log out"))


def shell(ctx: Ctx, *, title: str, body: Markup, heading: object = None, footer: str = "") -> str:
    here = ctx.request.path
    nav = [
        tag("a", text, href=ctx.url(path), aria_current="page" if here == path else None)
        for path, text in NAV
    ]
    flash = ctx.take_flash()
    notice = tag("div", flash[1], class_=f"flash flash-{flash[0]}", role="status") if flash else ""
    return render(
        "layout.html",
        title=title,
        css=ctx.url("/ui/static/dashboard.css"),
        home=ctx.url("/ui/"),
        namespace=ctx.namespace,
        nav=Markup("".join(nav)) if ctx.viewer.power else "",
        who=_who(ctx),
        flash=notice,
        heading=title if heading is None else heading,
        body=body,
        footer=footer,
    )


def html(ctx: Ctx, status: int, text: str) -> Response:
    return Response(status=status, body=text.encode(), content_type=HTML, headers=ctx.headers())


def page(
    ctx: Ctx, *, title: str, body: Markup, heading: object = None, status: int = 200
) -> Response:
    if ctx.viewer.fresh:
        ctx.start_session()
    return html(ctx, status, shell(ctx, title=title, body=body, heading=heading))


def redirect(ctx: Ctx, path: str) -> Response:
    """303 See Other: the browser GETs `path` (after a POST, the page it came from)."""
    return Response(status=303, content_type=HTML, headers=ctx.headers(("location", ctx.url(path))))


def problem(ctx: Ctx, status: int, title: str, text: str) -> Response:
    body = tag("section", tag("p", text), class_="card problem")
    return page(ctx, title=title, body=body, status=status)

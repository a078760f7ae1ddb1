"""The dashboard in a real headless browser (Debian's chromium, driven by selenium through
the system chromedriver) against real parts: clock processes, a `lockclock web`
subprocess on uvicorn and the session's redis-server. Logged out every page goes to the
login form; the API token buys an operator's session, the read token a read-only one; a
pause pressed in the browser holds on every clock across a handoff; forged CSRF tokens
and read-only sessions change nothing. The overview's screenshot is kept in artifacts/.
"""

from __future__ import annotations

import os
import re
import signal
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from lockclock.coordination.keys import Keys
from lockclock.coordination.store import Store
from lockclock.ops.control import Operations
from tests.support import ROOT, ClockProcess, active_pid, free_port, read_ledger, wait_for

try:
    from selenium import webdriver
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.remote.webdriver import WebDriver
    from selenium.webdriver.remote.webelement import WebElement
except ImportError:  # pragma: no cover - reported by the browser fixture
    webdriver = None  # type: ignore[assignment]

READ = "read-" + uuid.uuid4().hex
API = "api-" + uuid.uuid4().hex
APP = "tests.apps.many_app:clock"
NAMES = ["s0000", "s0001", "s0002"]
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
SCREENSHOT = ROOT / "artifacts" / "dashboard-overview.png"
REASON = "incident <b>42</b>"  # shown as typed: markup in a reason is escaped
PAGES = ["/", "/ui/", "/ui/schedules/s0001", "/ui/running", "/ui/outages", "/ui/audit"]


@pytest.fixture(scope="module")
def driver() -> Iterator[WebDriver]:
    """One headless chromium for the module (it takes seconds to start)."""
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if webdriver is None or missing:
        why = f"the browser tests need selenium and Debian's chromium ({missing or 'selenium'})"
        if os.environ.get("CI"):
            pytest.fail(why + ": scripts/bootstrap installs them")
        pytest.skip(why)
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in (
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--window-size=1366,1000", "--no-first-run", "--disable-extensions",
        "--disable-background-networking", "--disable-sync",
    ):  # fmt: skip
        options.add_argument(arg)
    chrome = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    chrome.set_page_load_timeout(30)
    try:
        yield chrome
    finally:
        chrome.quit()


class Browser:
    """The browser, at one `lockclock web`: what a person does and sees."""

    def __init__(self, driver: WebDriver, base: str) -> None:
        self.driver = driver
        self.base = base

    def open(self, path: str) -> None:
        self.driver.get(self.base + path)

    @property
    def path(self) -> str:
        return urllib.parse.urlparse(self.driver.current_url).path

    @property
    def query(self) -> dict[str, list[str]]:
        return urllib.parse.parse_qs(urllib.parse.urlparse(self.driver.current_url).query)

    def all(self, css: str) -> list[WebElement]:
        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def one(self, css: str) -> WebElement:
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def text(self, css: str = "main") -> str:
        return str(self.one(css).text)

    def login(self, token: str) -> None:
        self.one("input[name=token]").send_keys(token)
        self.follow(self.one("form.login button"))

    def submit(self, action: str, reason: str) -> str:
        """Fill in a schedule page's form and send it; the flash message it leads to."""
        form = self.one(f"form.control-{action}")
        form.find_element(By.NAME, "reason").send_keys(reason)
        self.follow(form.find_element(By.CSS_SELECTOR, "button[type=submit]"))
        return wait_for(lambda: self.flash(), 10, f"the flash after {action}")

    def follow(self, button: WebElement) -> None:
        """Press a form's button and wait for the page its POST leads to: a click returns
        before the browser has left the page (whose flash would be read instead), and a
        navigation right after would cancel the POST."""
        page = self.one("html")
        button.click()

        def left() -> bool:
            try:
                page.tag_name  # noqa: B018 - touches the old page's element
                return False
            except WebDriverException:  # stale: or "does not belong to the document"
                return True

        wait_for(left, 10, "the browser to leave the page")
        wait_for(lambda: self.heading(), 10, "the page the form leads to")

    def heading(self) -> str:
        """The page's h1, or '' while the browser is between pages."""
        try:
            return self.text("h1")
        except WebDriverException:
            return ""

    def flash(self) -> str:
        try:
            found = self.all(".flash")
            return str(found[0].text) if found else ""
        except WebDriverException:  # between pages
            return ""

    def session_cookie(self) -> str:
        cookie = self.driver.get_cookie("lockclock_session")
        assert cookie is not None, self.driver.get_cookies()
        return str(cookie["value"])

    def csrf(self) -> str:
        return str(self.one("input[name=csrf]").get_attribute("value"))


@pytest.fixture
def start_web(spawn: Callable[..., ClockProcess], driver: WebDriver) -> Callable[..., Browser]:
    """A `lockclock web` with both tokens, and the browser pointed at it, no cookies."""

    def _start(**env: str) -> Browser:
        port = free_port()
        args = ("--host", "127.0.0.1", "--port", str(port))
        env = {"LOCKCLOCK_READ_TOKEN": READ, "LOCKCLOCK_API_TOKEN": API, **env}
        proc = spawn(APP, command="web", args=args, MANY_SCHEDULES="3", **env)
        base = f"http://127.0.0.1:{port}"
        wait_for(lambda: _answers(base) or not proc.alive(), 20, "lockclock web to answer")
        assert proc.alive(), proc.log()
        driver.execute_cdp_cmd("Network.clearBrowserCookies", {})
        return Browser(driver, base)

    return _start


def _answers(base: str) -> bool:
    try:
        return http(base + "/healthz")[0] == 200
    except OSError:
        return False


@pytest.fixture
def clock(spawn: Callable[..., ClockProcess], client: redis.Redis, namespace: str) -> Store:
    """A real clock, active, its three never-due schedules published."""
    proc = spawn(APP, MANY_SCHEDULES="3")
    store = Store(client, namespace)
    wait_for(
        lambda: sorted(store.schedules.published()) == NAMES or not proc.alive(),
        20,
        "the clock to publish its schedules",
    )
    assert proc.alive(), proc.log()
    return store


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def http(
    url: str,
    fields: dict[str, str] | None = None,
    *,
    cookie: str | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], str]:
    """One request as a script (not the browser) would send it: no redirect followed."""
    data = None if fields is None else urllib.parse.urlencode(fields).encode()
    req = urllib.request.Request(url, data=data, headers=headers or {})
    if cookie:
        req.add_header("Cookie", f"lockclock_session={cookie}")
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(req, timeout=10) as resp:
            status, raw, body = resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as err:  # a 303 too: no redirect is followed
        status, raw, body = err.code, err.headers, err.read()
    hdrs = {k.lower(): v for k, v in raw.items()}
    hdrs["set-cookie"] = "\n".join(raw.get_all("set-cookie") or [])
    return status, hdrs, body.decode()


def test_logged_out_pages_go_to_login_then_overview_and_schedule_show(
    start_web: Callable[..., Browser], clock: Store, client: redis.Redis, namespace: str
) -> None:
    browser = start_web()
    for path in PAGES:
        browser.open(path)
        assert browser.path == "/ui/login", (path, browser.driver.current_url)
        assert browser.query["next"] == ["/ui/" if path == "/" else path]
        assert browser.all("input[name=token]") and not browser.all("form.control-pause")
    browser.login("not-the-token")
    assert browser.path == "/ui/login" and "not valid" in browser.text()
    assert browser.driver.get_cookie("lockclock_session") is None
    browser.open("/ui/schedules/s0001")
    browser.login(API)
    assert browser.path == "/ui/schedules/s0001", browser.text()
    assert "Logged in" in browser.flash()
    cookie = browser.driver.get_cookie("lockclock_session")
    assert cookie is not None and API not in cookie["value"]
    assert (cookie["httpOnly"], cookie["sameSite"], cookie["path"], cookie["secure"]) == (
        True, "Strict", "/ui", False,
    )  # fmt: skip
    assert 11.9 * 3600 < cookie["expiry"] - time.time() <= 12 * 3600 + 5
    # the schedule page: its spec in words, the SVG timeline, next ticks, the forms
    assert "s0001" in browser.text("h1") and "January" in browser.text("#spec")
    assert browser.all("svg.timeline") and "no runs recorded yet" in browser.text("#timeline")
    assert len(browser.all("#next li")) == 10
    for action in ("trigger", "pause", "backfill", "cancel"):
        assert browser.all(f"form.control-{action} input[name=reason][required]"), action
    assert not browser.all("form.control-resume")  # not paused
    flash = browser.submit("trigger", "smoke test from the browser")
    assert "granted" in flash, flash

    def ok_bar() -> bool:
        if browser.all("svg.timeline g.st-ok rect.dur"):
            return True
        browser.open("/ui/schedules/s0001")
        return False

    wait_for(ok_bar, 10, "the manual run's bar in the timeline")
    assert "manual ok" in browser.text("#runs")
    # the overview: every schedule, the active clock and since when, the workers
    browser.open("/ui/")
    assert browser.path == "/ui/"
    names = [a.text for a in browser.all("table.schedules tbody tr td:first-child a")]
    assert names == NAMES
    leader = client.hget(Keys(namespace).lease, "clock")
    assert leader and browser.text("#clocks .leader") == leader
    assert "leads since" in browser.text("#clocks") and "healthy" in browser.text(".strip")
    assert "100%" in browser.text("table.schedules")  # s0001: 1 of 1 ok in 24 h
    SCREENSHOT.parent.mkdir(exist_ok=True)
    SCREENSHOT.unlink(missing_ok=True)
    assert browser.driver.save_screenshot(str(SCREENSHOT))
    assert SCREENSHOT.stat().st_size > 10_000
    # the other pages, and the trigger's audit row
    for path, heading in [
        ("/ui/running", "Running now"),
        ("/ui/outages", "Outages and missed runs"),
        ("/ui/audit", "Audit log"),
    ]:
        browser.open(path)
        assert (browser.path, browser.text("h1")) == (path, heading)
    rows = [r.text for r in browser.all("table.audit tbody tr")]
    assert len(rows) == 1 and re.search(r"trigger s0001 dashboard web smoke test", rows[0])


def test_pause_from_the_browser_holds_on_every_clock_then_resume(
    start_web: Callable[..., Browser],
    spawn: Callable[..., ClockProcess],
    client: redis.Redis,
    namespace: str,
    tmp_path: Path,
) -> None:
    ledger = tmp_path / "ticks.jsonl"
    env = {"WORKER_SCHEDULES": "sec", "LOCKCLOCK_DISPATCH": "inline", "WORKER_LEDGER": str(ledger)}
    clocks = [spawn("tests.apps.worker_app:clock", **env) for _ in range(2)]
    store = Store(client, namespace)
    wait_for(lambda: len(store.clocks.all()) == 2, 20, "both clocks to register")
    wait_for(lambda: len(read_ledger(ledger)) >= 2, 20, "sec to run")
    browser = start_web()
    browser.open("/ui/schedules/sec")
    browser.login(API)
    assert browser.path == "/ui/schedules/sec"
    flash = browser.submit("pause", REASON)
    assert "Paused sec" in flash, flash
    pause = Operations(store).pauses()["sec"]
    assert (pause.reason, pause.actor, pause.source) == (REASON, "dashboard", "web")
    assert "paused" in browser.text("h1") and REASON in browser.text("h1")
    assert browser.all("form.control-resume")
    time.sleep(1.5)
    # the active clock stops (a deploy): the standby takes over and honours the pause too
    leader = next(c for c in clocks if c.pid == active_pid(client, namespace))
    standby = next(c for c in clocks if c is not leader)
    leader.signal(signal.SIGTERM)
    assert leader.wait(10) == 0
    wait_for(lambda: active_pid(client, namespace) == standby.pid, 10, "the standby to lead")
    time.sleep(2.5)
    during = [r for r in read_ledger(ledger) if r["tick"] > pause.since_ms]
    assert during == [], "a tick of the paused schedule ran"
    (span,) = [r for r in store.history.runs("sec", 50) if r.status == "paused"]
    assert span.count is not None and span.count >= 3 and span.reason == REASON
    browser.open("/ui/")
    row = next(r for r in browser.all("table.schedules tbody tr") if r.text.startswith("sec"))
    assert "paused" in row.text and REASON in row.text
    browser.open("/ui/audit")
    (entry,) = [r.text for r in browser.all("table.audit tbody tr")]
    assert f"pause sec dashboard web {REASON}" in entry
    browser.open("/ui/schedules/sec")
    assert browser.all("svg.timeline g.st-paused")  # the pause span, marked
    flash = browser.submit("resume", "incident over")
    assert "Resumed sec" in flash, flash
    assert "sec" not in Operations(store).pauses()
    resumed_ms = store.server_ms()
    after = wait_for(
        lambda: [r for r in read_ledger(ledger) if r["tick"] > resumed_ms], 10, "sec to run again"
    )
    assert {r["pid"] for r in after} == {standby.pid}
    assert not browser.all("form.control-resume") and "paused" not in browser.text("h1")
    actions = [(e.action, e.source, e.reason) for e in Operations(store).audit()]
    assert actions == [("resume", "web", "incident over"), ("pause", "web", REASON)]


def test_a_forged_or_missing_csrf_token_is_refused_and_changes_nothing(
    start_web: Callable[..., Browser], clock: Store
) -> None:
    browser = start_web()
    browser.open("/ui/login")
    browser.login(API)
    browser.open("/ui/schedules/s0002")
    ops = Operations(clock)
    # in the browser: the form's hidden token forged
    browser.driver.execute_script(
        "document.querySelector('form.control-pause input[name=csrf]').value = 'forged'"
    )
    form = browser.one("form.control-pause")
    form.find_element(By.NAME, "reason").send_keys("csrf probe")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for(lambda: browser.heading() == "Refused", 10, "the refusal page")
    assert "CSRF token is missing or wrong" in browser.text()
    # as an attacker's script would send it: the victim's cookie, but no valid token
    url = browser.base + "/ui/schedules/s0002/pause"
    cookie = browser.session_cookie()
    good = browser.csrf()  # the session's own (the refusal page's log-out form has it)
    other = http(browser.base + "/ui/login", {"token": API, "next": "/ui/"})
    assert other[0] == 303 and "lockclock_session=" in other[1]["set-cookie"]
    other_cookie = other[1]["set-cookie"].split("lockclock_session=")[1].split(";")[0]
    status, _, page = http(browser.base + "/ui/schedules/s0002", cookie=other_cookie)
    other_csrf = re.search(r'name="csrf" value="([^"]+)"', page)
    assert status == 200 and other_csrf and other_csrf.group(1) != good
    csrf = "CSRF token is missing or wrong"
    for fields, headers, why in [
        ({"reason": "r"}, {}, csrf),
        ({"reason": "r", "csrf": ""}, {}, csrf),
        ({"reason": "r", "csrf": good[:-2] + "xx"}, {}, csrf),
        ({"reason": "r", "csrf": other_csrf.group(1)}, {}, csrf),  # another session's
        ({"reason": "r", "csrf": good}, {"Sec-Fetch-Site": "cross-site"}, "another site"),
    ]:
        status, _, body = http(url, fields, cookie=cookie, headers=headers)
        assert status == 403 and why in body, (fields, headers, status)
    # a session cookie tampered with is no session
    tampered = cookie[:-3] + ("AAA" if not cookie.endswith("AAA") else "BBB")
    status, headers, _ = http(browser.base + "/ui/", cookie=tampered)
    assert status == 303 and headers["location"].startswith("/ui/login")
    assert http(url, {"reason": "r", "csrf": good}, cookie=tampered)[0] == 403
    assert ops.pauses() == {} and ops.audit() == []
    # the control: the same request with the right token goes through
    status, headers, _ = http(url, {"reason": "with the token", "csrf": good}, cookie=cookie)
    assert status == 303 and headers["location"] == "/ui/schedules/s0002"
    assert ops.pauses()["s0002"].reason == "with the token"


def test_a_read_token_session_shows_no_forms_and_may_not_post(
    start_web: Callable[..., Browser], clock: Store
) -> None:
    browser = start_web()
    browser.open("/ui/schedules/s0000")
    browser.login(READ)
    assert browser.path == "/ui/schedules/s0000" and "read-only" in browser.flash()
    forms = browser.all("form")
    assert [f.get_attribute("class") for f in forms] == ["logout"], "only the log-out button"
    assert "This session is read-only" in browser.text("#controls")
    assert "read-only" in browser.text("header .who")
    # a pause posted from this session, with its valid CSRF token: refused
    browser.driver.execute_script(
        """const f = document.createElement('form');
        f.method = 'post'; f.action = '/ui/schedules/s0000/pause';
        for (const [k, v] of [['csrf', arguments[0]], ['reason', 'sneaky']]) {
          const i = document.createElement('input'); i.name = k; i.value = v; f.append(i);
        }
        document.body.append(f); f.submit();""",
        browser.csrf(),
    )
    wait_for(lambda: browser.heading() == "Read-only", 10, "the refusal page")
    url = browser.base + "/ui/schedules/s0000/pause"
    status, _, body = http(
        url, {"reason": "r", "csrf": browser.csrf()}, cookie=browser.session_cookie()
    )
    assert status == 403 and "read-only" in body
    ops = Operations(clock)
    assert ops.pauses() == {} and ops.audit() == []
    # the cookie is Secure when the client came over https (a proxy says so)
    status, headers, _ = http(
        browser.base + "/ui/login", {"token": READ}, headers={"X-Forwarded-Proto": "https"}
    )
    assert status == 303 and "; Secure" in headers["set-cookie"]
    assert "; Secure" not in http(browser.base + "/ui/login", {"token": READ})[1]["set-cookie"]
    # log out: back to the login form, and the pages with it
    browser.one("form.logout button").click()
    wait_for(lambda: browser.heading() == "Log in", 10, "the login form")
    assert "Logged out" in browser.flash()
    browser.open("/ui/")
    assert browser.path == "/ui/login"

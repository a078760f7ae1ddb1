"""`lockclock`: run a clock, check schedules, see status and history.

User errors (bad schedule, bad setting, unimportable module, refused credentials)
print one line on stderr and exit 2; no tracebacks.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from datetime import datetime, timezone
from typing import Any, NoReturn

import click
import sentry_sdk

from . import __version__
from .app import Clock, default_clock
from .clock import AUTH_ERRORS, TRANSIENT_ERRORS, auth_message, tick_iso
from .connection import connect, describe_url, redact_dsn
from .context import tick_datetime
from .embedded import running_embedded
from .errors import JobImportError, LockclockError
from .monitors import Monitor, no_monitor_reason, plan_monitors
from .runner import run_clock
from .sentry_setup import send_test
from .settings import resolve
from .store import Store

EXIT_USER_ERROR = 2


def load_clock(target: str) -> Clock:
    """Import MODULE[:ATTR]; without ATTR, the default clock or the module's only Clock."""
    module_name, _, attr = target.partition(":")
    if not module_name:
        raise JobImportError(f"invalid target {target!r}: expected MODULE[:ATTR], e.g. app.clock")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except LockclockError:
        raise
    except BaseException as exc:
        if isinstance(exc, KeyboardInterrupt):
            raise
        detail = f"{type(exc).__name__}: {exc}".strip()
        raise JobImportError(
            f"cannot import {module_name!r}: {detail} (run from your app's directory, "
            "or fix the module)"
        ) from None
    if attr:
        obj = getattr(module, attr, None)
        if not isinstance(obj, Clock):
            raise JobImportError(
                f"{module_name}:{attr} is not a lockclock.Clock "
                f"(found {type(obj).__name__}); name the Clock object, e.g. {module_name}:clock"
            )
        return obj
    if default_clock.schedules:
        return default_clock
    clocks = [v for v in vars(module).values() if isinstance(v, Clock)]
    if len(clocks) == 1:
        return clocks[0]
    raise JobImportError(
        f"no schedules found in {module_name!r}: decorate functions with "
        "@lockclock.schedule(...), or name the clock as MODULE:ATTR"
    )


def fail(message: str) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(EXIT_USER_ERROR)


class _Group(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except AUTH_ERRORS as exc:
            fail(auth_message(exc))
        except LockclockError as exc:
            fail(str(exc))
        except TRANSIENT_ERRORS as exc:
            click.echo(f"error: Redis is unreachable ({exc}); check REDIS_URL", err=True)
            sys.exit(1)


# No envvar= on these: settings.resolve reads the environment itself, below the
# Clock(...) arguments, as the README promises (flag > Clock(...) > environment).
redis_url_option = click.option(
    "--redis-url", default=None,
    help="Redis to coordinate through.  [env var: REDIS_URL; unset: a local development Redis]",
)  # fmt: skip
namespace_option = click.option(
    "--namespace", default=None,
    help="Key prefix, so several apps can share one Redis.  "
    "[env var: LOCKCLOCK_NAMESPACE; default: lockclock]",
)  # fmt: skip


@click.group(cls=_Group)
@click.version_option(__version__, prog_name="lockclock")
def main() -> None:
    """Cron-style schedules on redundant clocks: exactly one dispatch per tick."""


@main.command()
@click.argument("target")
@redis_url_option
@namespace_option
@click.option(
    "--log-level",
    default=None,
    help="DEBUG, INFO, WARNING or ERROR.  [env var: LOCKCLOCK_LOG_LEVEL]",
)
def run(target: str, redis_url: str | None, namespace: str | None, log_level: str | None) -> None:
    """Run a clock process for TARGET (MODULE[:ATTR]) until SIGTERM."""
    clock = load_clock(target)
    code = run_clock(
        clock, {"redis_url": redis_url, "namespace": namespace, "log_level": log_level}
    )
    sys.stdout.flush()
    os._exit(code)  # job threads that outlived the grace period must not hold the exit


def _parse_from(value: str | None) -> datetime:
    if not value:
        return datetime.now(timezone.utc)
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        fail(f"invalid --from {value!r}: use ISO 8601, e.g. 2026-03-08T00:00:00-05:00")
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


@main.command()
@click.argument("target")
@click.option("--from", "start", default=None, help="ISO instant to start from (default now).")
@click.option("--count", default=5, show_default=True, type=click.IntRange(1, 1000))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def check(target: str, start: str | None, count: int, as_json: bool) -> None:
    """Validate TARGET's schedules and print the next COUNT instants of each."""
    clock = load_clock(target)
    t0 = _parse_from(start)
    settings = resolve({}, clock.options)
    sentry_on = not _sentry_state(settings.sentry_dsn).startswith("Sentry: off")
    monitors = plan_monitors(
        clock.schedules, settings.namespace, settings.lease_ttl_s, unique=sentry_on
    )
    report: list[dict[str, Any]] = []
    for s in clock.schedules:
        ticks, t = [], int(t0.timestamp() * 1000)
        for _ in range(count):
            t = s.next_after(t)
            ticks.append(t)
        report.append(
            {
                "name": s.name,
                "trigger": s.describe(),
                "enabled": s.enabled,
                "catchup": s.catchup,
                "monitor": _monitor_json(monitors[s.name]),
                "monitor_note": None if monitors[s.name] else no_monitor_reason(s),
                "next": [
                    {
                        "utc": tick_datetime(x).isoformat(),
                        "local": tick_datetime(x).astimezone(s.tz).isoformat(),
                    }
                    for x in ticks
                ],
            }
        )
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    for item in report:
        state = "" if item["enabled"] else "  (paused)"
        click.echo(f"{item['name']}: {item['trigger']}, catchup={item['catchup']}{state}")
        mon = monitors[item["name"]]
        click.echo(f"  Sentry monitor {mon.describe()}" if mon else f"  {item['monitor_note']}")
        for n in item["next"]:
            click.echo(f"  {n['utc']}  local {n['local']}")
    click.echo(f"{len(report)} schedule(s) OK; {_sentry_state(settings.sentry_dsn)}")


def _monitor_json(mon: Monitor | None) -> dict[str, Any] | None:
    return {"slug": mon.slug, "config": mon.config} if mon else None


def _sentry_state(dsn: str | None) -> str:
    """Where check-ins would go, for `check`; the DSN's keys are never shown."""
    client = sentry_sdk.get_client()
    if client.is_active():
        return f"Sentry: the app's own sentry_sdk.init ({redact_dsn(str(client.dsn))})"
    if dsn == "":
        return "Sentry: off (Clock(sentry=False)): no check-ins or events are sent"
    if not dsn:
        return "Sentry: off (SENTRY_DSN is unset): no check-ins or events are sent"
    return f"Sentry: {redact_dsn(dsn)}"


def _store(redis_url: str | None, namespace: str | None) -> tuple[Store, str]:
    # status and history send nothing to Sentry: a bad SENTRY_DSN must not hide them
    settings = resolve({"redis_url": redis_url, "namespace": namespace, "sentry_dsn": False})
    url = settings.redis_url or running_embedded()
    client = connect(url, socket_timeout=3.0, connect_timeout=3.0)
    client.ping()
    return Store(client, settings.namespace), url


def _alive(clock: dict[str, Any], now_ms: int) -> bool:
    age = now_ms - int(clock.get("heartbeat_ms", 0))
    return age < int(clock.get("stale_after_ms", 10_000))


def _alive_ids(clocks: list[dict[str, Any]], now_ms: int) -> set[str]:
    return {c["id"] for c in clocks if _alive(c, now_ms)}


def _mark_lost(records: list[dict[str, Any]], alive: set[str]) -> None:
    """A run still 'running' whose clock has stopped heartbeating will never finish."""
    for rec in records:
        if rec.get("status") == "running" and rec.get("clock") not in alive:
            rec["status"] = "lost"
            rec["error"] = "its clock stopped while it ran (crash or kill -9)"


def _server_ms(store: Store) -> int:
    sec, usec = store.redis.time()
    return int(sec) * 1000 + int(usec) // 1000


def _iso(ms: int | None) -> str | None:
    """Millisecond UTC timestamp, e.g. 2026-11-22T20:37:05.002Z."""
    if not ms:
        return None
    return tick_datetime(int(ms)).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _status_of(rec: dict[str, Any]) -> str:
    # recorded missed, though it may have run before Redis lost its record
    return "in doubt" if rec.get("doubt") else str(rec.get("status"))


@main.command()
@redis_url_option
@namespace_option
@click.option("--json", "as_json", is_flag=True)
def status(redis_url: str | None, namespace: str | None, as_json: bool) -> None:
    """Clocks alive, the active clock, and each schedule's last and next tick."""
    store, url = _store(redis_url, namespace)
    now_ms = _server_ms(store)
    current, lease_ms_left = store.lease_info()
    clocks = sorted(store.clocks(), key=lambda c: c.get("started_ms", 0))
    table = store.schedules()
    nexts = store.next_ticks()
    last = store.last_runs(sorted(table))
    _mark_lost([r for r in last.values() if r], _alive_ids(clocks, now_ms))
    out: dict[str, Any] = {
        "redis": describe_url(url),
        "namespace": store.ns,
        "active": {
            "clock": current.get("clock"),
            "epoch": int(current["epoch"]) if current.get("epoch") else None,
            "lease_ms_left": lease_ms_left if current else None,
        },
        "clocks": [
            {
                **c,
                "heartbeat_age_s": round((now_ms - int(c.get("heartbeat_ms", 0))) / 1000, 1),
                "alive": _alive(c, now_ms),
            }
            for c in clocks
        ],
        "schedules": [
            {
                "name": name,
                **spec,
                "next_tick": _iso(nexts.get(name)),
                "last": last.get(name),
            }
            for name, spec in sorted(table.items())
        ],
    }
    if as_json:
        click.echo(json.dumps(out, indent=2, default=str))
        return
    click.echo(f"redis {out['redis']}  namespace {store.ns}")
    act = out["active"]
    if act["clock"]:
        click.echo(
            f"active clock: {act['clock']}  epoch {act['epoch']}  "
            f"lease {act['lease_ms_left'] / 1000:.1f}s left"
        )
    else:
        click.echo("active clock: none (no clock holds the lease)")
    click.echo(f"clocks ({len(out['clocks'])}):")
    for c in out["clocks"]:
        role = c.get("role", "?") if c["alive"] else "gone"
        click.echo(
            f"  {c['id']:<32} {role:<8} pid {c.get('pid')}  heartbeat {c['heartbeat_age_s']}s ago"
        )
    click.echo(f"schedules ({len(out['schedules'])}):")
    for s in out["schedules"]:
        rec = s["last"] or {}
        last_txt = f"last {_iso(rec.get('tick'))} {_status_of(rec)}" if rec else "never ran"
        paused = "" if s.get("enabled", True) else "  (paused)"
        click.echo(f"  {s['name']}: {s.get('trigger')}{paused}")
        click.echo(f"      {last_txt}; next {s['next_tick'] or '-'}")


@main.command()
@click.argument("name")
@redis_url_option
@namespace_option
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 100_000))
@click.option("--json", "as_json", is_flag=True)
def history(
    name: str, redis_url: str | None, namespace: str | None, limit: int, as_json: bool
) -> None:
    """Recent runs of schedule NAME, newest first."""
    store, _ = _store(redis_url, namespace)
    records = store.history(name, limit)
    _mark_lost(records, _alive_ids(store.clocks(), _server_ms(store)))
    if not records and name not in (known_names := store.schedules()):
        known = ", ".join(sorted(known_names)) or "none yet"
        fail(f"no schedule named {name!r} in namespace {store.ns!r} (known: {known})")
    if as_json:
        click.echo(json.dumps(records, indent=2))
        return
    click.echo(f"{'TICK':<22} {'STARTED':<24} {'STATUS':<11} {'FENCE':>7} {'DURATION':>9}  CLOCK")
    for r in records:
        dur = f"{r['duration_ms']}ms" if r.get("duration_ms") is not None else "-"
        click.echo(
            f"{tick_iso(r['tick']):<22} {_iso(r.get('started_ms')) or '-':<24} "
            f"{_status_of(r):<11} {r.get('fence') or '-':>7} {dur:>9}  {r.get('clock', '')}"
            + (f"  {r['error']}" if r.get("error") else "")
        )


@main.group(name="alerts")
def alerts_group() -> None:
    """Sentry alerts (set SENTRY_DSN): check the wiring."""


@alerts_group.command(name="test")
@click.argument("target", required=False)
def alerts_test(target: str | None) -> None:
    """Send a test event and a test check-in to Sentry; exit 0 if it accepted both.

    TARGET (MODULE[:ATTR]) is optional: give it to use the app's Clock(sentry=...) or its
    own sentry_sdk.init, as `lockclock run` would.
    """
    clock = load_clock(target) if target else Clock()
    settings = resolve({}, clock.options)
    if settings.sentry_dsn == "":
        fail("Sentry alerts are off for this clock (Clock(sentry=False)): nothing to test")
    client = sentry_sdk.get_client()
    dsn = str(client.dsn) if client.is_active() and client.dsn else settings.sentry_dsn
    if not dsn:
        fail(
            "SENTRY_DSN is unset: set it to your Sentry project's DSN "
            "(Project Settings > Client Keys), e.g. heroku config:set SENTRY_DSN=..."
        )
    report = send_test(dsn, namespace=settings.namespace)
    click.echo(f"sentry {report.dsn}  environment {report.environment}  release {report.release}")
    problems: list[str] = []
    checks = (("test event", report.event), (f"test check-in ({report.slug})", report.checkin))
    for what, sent in checks:
        if sent.accepted:
            click.echo(f"{what}: accepted (HTTP {sent.status})")
        elif sent.status is not None:
            click.echo(f"{what}: refused (HTTP {sent.status})")
            problems.append(
                f"Sentry refused the {what} with HTTP {sent.status}: "
                + _REFUSALS.get(sent.status, "see Sentry's status page and the DSN")
            )
        else:
            click.echo(f"{what}: not delivered ({sent.error})")
            problems.append(
                f"Sentry is unreachable for the {what} ({sent.error}): check SENTRY_DSN's "
                "host and this machine's network"
            )
    if problems:
        fail(problems[0])


_REFUSALS = {
    401: "check the key in SENTRY_DSN (Project Settings > Client Keys)",
    403: "check the key in SENTRY_DSN, and that it is enabled (Project Settings > Client Keys)",
    404: "check the project id at the end of SENTRY_DSN",
    413: "the envelope was too large",
    429: "rate limited or over quota (Settings > Subscription, or the key's rate limit)",
}

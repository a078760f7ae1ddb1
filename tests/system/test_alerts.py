"""Sentry alerts, judged by what a local stand-in for Sentry receives from the real SDK in
real `lockclock run` processes: check-in pairs, missed-run, failure, late-start and
overrun events, and that a slow or absent Sentry never delays a tick."""

from __future__ import annotations

import json
import signal
import statistics
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
import redis

from lockclock.coordination.keys import Keys
from lockclock.sentry.monitors import (
    slug_for,
)
from tests.sentry_receiver import SentryReceiver
from tests.support import (
    ClockProcess,
    active_pid,
    clock_env,
    free_port,
    history,
    outages,
    read_ledger,
    run_cli,
    wait_for,
)

ALERTS_APP = "tests.apps.alerts_app:clock"


def iso(ms: int) -> str:
    dt = datetime.fromtimestamp(ms / 1000, timezone.utc)
    return dt.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def sent_at(item_envelope: dict[str, Any]) -> float:
    return datetime.fromisoformat(item_envelope["sent_at"]).timestamp()


def seed_high_water_marks(client: redis.Redis, namespace: str, marks: dict[str, int]) -> None:
    """What clocks that stopped at these instants leave behind: the next clock to take
    the lease finds the ticks since then and reports them as an outage."""
    client.hset(Keys(namespace).hwm, mapping=marks)


def job(*_: Any) -> None: ...


# -- monitors and settings, pure -----------------------------------------------------------


# -- real clocks, a stand-in Sentry ---------------------------------------------------------


@pytest.mark.serial
def test_an_outage_of_every_clock_sends_one_missed_run_event_per_schedule(
    spawn: Callable[..., ClockProcess],
    client: redis.Redis,
    namespace: str,
    tmp_path: Path,
    sentry: SentryReceiver,
) -> None:
    ledger = tmp_path / "ledger.jsonl"
    env = {"LEDGER_SCHEDULES": "a_skip,a_latest", "SENTRY_DSN": sentry.dsn}
    first = spawn(DYNO="clock.1", **env)
    wait_for(lambda: len(read_ledger(ledger)) >= 4, 15, "runs before the outage")
    first_id = client.hget(Keys(namespace).lease, "clock")
    killed_at = time.time()
    first.signal(signal.SIGKILL)  # the last clock crashes: nobody fires for 7 s
    first.wait(5)
    time.sleep(7)
    second = spawn(DYNO="clock.2", **env)
    wait_for(lambda: second.events("catchup"), 10, "the catch-up")
    sentry.wait(lambda s: len(s.events("missed-runs")) >= 2, 10, "missed-run events")
    time.sleep(2)  # later ticks run on time and must not report anything more
    second.signal(signal.SIGTERM)
    assert second.wait(10) == 0

    events = sentry.events("missed-runs")
    assert sorted(e["tags"]["schedule"] for e in events) == ["a_latest", "a_skip"]
    for e in events:
        name = e["tags"]["schedule"]
        (stored,) = outages(client, namespace, name)
        window = e["contexts"]["missed_runs"]
        assert e["level"] == "error"
        assert e["fingerprint"] == ["lockclock", "missed-runs", namespace, name]
        assert e["tags"]["namespace"] == namespace and e["tags"]["dyno"] == "clock.2"
        assert e["tags"]["clock"].startswith(f"clock.2:{second.pid}:")
        assert e["tags"]["catchup"] == name.removeprefix("a_")
        assert window["first_missed_tick"] == iso(stored["first_ms"])
        assert window["last_missed_tick"] == iso(stored["last_ms"])
        assert window["count"] == stored["count"] >= 3
        assert window["count"] == (stored["last_ms"] - stored["first_ms"]) // 1000 + 1
        assert window["policy"] == name.removeprefix("a_")
        assert window["previous_clock"] == first_id and first_id.startswith("clock.1:")
        assert window["previous_lease_released"] is False  # it crashed
        lapsed = datetime.fromisoformat(window["previous_lease_lapsed_at"]).timestamp()
        assert killed_at - 0.5 < lapsed < killed_at + 1.5  # within the 1 s lease
        assert iso(stored["first_ms"]) in e["message"] and name in e["message"]
        if name == "a_skip":
            assert e["tags"]["catchup_action"] == "skipped"
            assert window["ran_late"] == 0 and window["recorded_missed"] == window["count"]
        else:
            assert e["tags"]["catchup_action"] == "ran_latest"
            assert window["ran_late"] == 1 and window["recorded_missed"] == window["count"] - 1
    # the catch-up run started seconds late, but the missed-run event already says so
    assert any(r["schedule"] == "a_latest" and r["late"] > 3 for r in read_ledger(ledger))
    assert sentry.events("late-start") == []
    assert len(sentry.events()) == 2 and sentry.checkins() == []  # per-second: no monitors


def test_check_in_pairs_failures_and_overruns(
    spawn: Callable[..., ClockProcess],
    client: redis.Redis,
    namespace: str,
    tmp_path: Path,
    sentry: SentryReceiver,
) -> None:
    # Clocks that stopped three minutes ago: the minute-level schedules catch up at once,
    # so their check-ins come without waiting for a minute boundary.
    now_ms = int(time.time() * 1000)
    seed_high_water_marks(
        client, namespace, {"minutely": now_ms - 180_000, "minutely_fail": now_ms - 180_000}
    )
    proc = spawn(
        LEDGER_SCHEDULES="minutely,minutely_fail,fail,overrun",
        SENTRY_DSN=sentry.dsn,
        SENTRY_ENVIRONMENT="staging",
        HEROKU_SLUG_COMMIT="abc123",
        DYNO="clock.1",
    )
    sentry.wait(lambda s: len(s.checkins()) >= 4, 15, "two check-in pairs")
    sentry.wait(lambda s: s.events("overrun"), 10, "the overrun event")
    wait_for(
        lambda: sum(h["status"] == "error" for h in history(client, namespace, "fail", 50)) >= 3,
        10,
        "three failures of 'fail'",
    )
    wait_for(
        lambda: len(history(client, namespace, "overrun", 50)) >= 2, 10, "two overrunning runs"
    )
    proc.signal(signal.SIGTERM)
    assert proc.wait(15) == 0
    ledger = read_ledger(tmp_path / "ledger.jsonl")

    # every run of a minute-level schedule: in_progress before the job, then ok/error
    checkins = sentry.of_type("check_in")
    by_id: dict[str, list[Any]] = defaultdict(list)
    for item in checkins:
        by_id[item.payload["check_in_id"]].append(item)
    assert {i.payload["monitor_slug"] for i in checkins} == {
        slug_for(namespace, "minutely"),
        slug_for(namespace, "minutely_fail"),
    }
    for name, status, schedule in (
        ("minutely", "ok", {"type": "crontab", "value": "* * * * *"}),
        ("minutely_fail", "error", {"type": "interval", "value": 1, "unit": "minute"}),
    ):
        runs = sorted(
            (h for h in history(client, namespace, name, 50) if h["status"] != "missed"),
            key=lambda h: h["tick"],
        )
        starts = sorted(r["start"] for r in ledger if r["schedule"] == name)
        pairs = sorted(
            (
                p
                for p in by_id.values()
                if p[0].payload["monitor_slug"] == slug_for(namespace, name)
            ),
            key=lambda p: sent_at(p[0].envelope),
        )
        assert runs and len(pairs) == len(runs) == len(starts), (name, runs, pairs)
        for pair, run, start in zip(pairs, runs, starts, strict=True):
            opening, closing = sorted(pair, key=lambda i: i.payload["status"] != "in_progress")
            assert len(pair) == 2
            assert (
                opening.payload["status"] == "in_progress" and opening.payload["duration"] is None
            )
            assert closing.payload["status"] == status == run["status"]
            assert abs(closing.payload["duration"] - run["duration_ms"] / 1000) < 0.01
            assert sent_at(opening.envelope) <= start <= sent_at(closing.envelope) + 0.001
            for item in pair:
                assert item.payload["monitor_config"] == {
                    "schedule": schedule,
                    "timezone": "UTC",
                    "checkin_margin": 1,
                    "max_runtime": 30,
                    "failure_issue_threshold": 1,
                    "recovery_threshold": 1,
                }
                assert item.payload["environment"] == "staging"
                assert item.payload["release"] == "abc123"

    # failures: grouped per schedule and exception type; at most one a minute each
    fails = sentry.events("failed")
    assert sorted(e["tags"]["schedule"] for e in fails) == ["fail", "minutely_fail"]
    first_error = min(
        (h for h in history(client, namespace, "fail", 50) if h["status"] == "error"),
        key=lambda h: h["tick"],
    )
    for e in fails:
        name = e["tags"]["schedule"]
        assert e["fingerprint"] == ["lockclock", "failed", namespace, name, "RuntimeError"]
        assert e["level"] == "error" and e["environment"] == "staging"
        assert e["release"] == "abc123"
        assert e["tags"]["dyno"] == "clock.1" and e["tags"]["exception"] == "RuntimeError"
        (exc,) = e["exception"]["values"]
        assert exc["type"] == "RuntimeError"
        frames = exc["stacktrace"]["frames"]
        assert any(
            f["function"] == "fail" and f["module"] == "tests.apps.ledger_app" for f in frames
        )
        if name == "fail":
            assert exc["value"] == f"boom at fence {first_error['fence']}"
            assert e["contexts"]["lockclock_run"]["fence"] == first_error["fence"]

    # an overrun, once, although every run of 'overrun' outlives its 1 s max_runtime
    (over,) = sentry.events("overrun")
    assert over["level"] == "warning" and over["tags"]["schedule"] == "overrun"
    assert over["fingerprint"] == ["lockclock", "overrun", namespace, "overrun"]
    assert over["contexts"]["lockclock_run"]["max_runtime_s"] == 1.0
    assert over["contexts"]["lockclock_run"]["running_s"] >= 1.0
    kinds = sorted(e["fingerprint"][1] for e in sentry.events())
    assert kinds == ["failed", "failed", "missed-runs", "missed-runs", "overrun"]
    assert not sentry.errors


def test_a_run_cut_short_by_the_grace_period_closes_its_check_in(
    spawn: Callable[..., ClockProcess],
    client: redis.Redis,
    namespace: str,
    tmp_path: Path,
    sentry: SentryReceiver,
) -> None:
    seed_high_water_marks(client, namespace, {"minutely": int(time.time() * 1000) - 180_000})
    proc = spawn(LEDGER_SCHEDULES="minutely", LEDGER_JOB_SECONDS="30", LOCKCLOCK_GRACE="1",
                 SENTRY_DSN=sentry.dsn)  # fmt: skip
    wait_for(lambda: read_ledger(tmp_path / "ledger.jsonl"), 10, "the long job to start")
    proc.signal(signal.SIGTERM)
    assert proc.wait(10) == 0
    assert len(proc.events("run_interrupted")) == 1
    opening, closing = sentry.checkins()  # sent before the process exited: flushed
    assert opening["status"] == "in_progress" and closing["status"] == "error"
    assert closing["check_in_id"] == opening["check_in_id"]
    assert 0.5 < closing["duration"] < 3
    # the job had the first 0.9 s of the 1 s grace period, the flush what was left of the
    # last tenth once the interruption was recorded (its check-in arrived: see above;
    # on a loaded machine recording it can take the whole tenth): never past the grace
    (line,) = proc.events("sentry_flushed")
    assert 0.0 <= float(line.split("limit_s=")[1].split()[0]) <= 0.1


@pytest.mark.serial
def test_a_late_start_after_a_failover_sends_one_warning(
    spawn: Callable[..., ClockProcess],
    client: redis.Redis,
    namespace: str,
    tmp_path: Path,
    sentry: SentryReceiver,
) -> None:
    env = {"LEDGER_SCHEDULES": "a_latest", "SENTRY_DSN": sentry.dsn, "LOCKCLOCK_LEASE_TTL": "3"}
    a = spawn(**env)
    wait_for(lambda: active_pid(client, namespace) == a.pid, 10, "a to be active")
    b = spawn(**env)
    wait_for(lambda: b.events("sentry"), 10, "b to start")
    a.signal(signal.SIGKILL)  # b takes over when the 3 s lease lapses: ticks run late
    a.wait(5)
    wait_for(lambda: active_pid(client, namespace) == b.pid, 10, "b to take over")
    sentry.wait(lambda s: s.events("late-start"), 10, "a late-start warning")
    time.sleep(1.5)
    b.signal(signal.SIGTERM)
    assert b.wait(10) == 0

    late_runs = [r for r in read_ledger(tmp_path / "ledger.jsonl") if r["late"] > 0.5]
    assert len(late_runs) >= 2  # several, within the 9 s on-time window: no outage
    (warning,) = sentry.events("late-start")
    assert warning["level"] == "warning"
    assert warning["fingerprint"] == ["lockclock", "late-start", namespace, "a_latest"]
    assert warning["tags"]["clock"].split(":")[-2] == str(b.pid)
    run = warning["contexts"]["lockclock_run"]
    assert run["alert_late_after_s"] == 0.5 and 0.5 < run["late_s"] < 9
    assert sentry.events("missed-runs") == []


def test_nothing_is_sent_without_sentry_dsn_or_with_sentry_false(
    spawn: Callable[..., ClockProcess],
    client: redis.Redis,
    namespace: str,
    sentry: SentryReceiver,
) -> None:
    unset = spawn(ALERTS_APP, LOCKCLOCK_NAMESPACE=f"{namespace}u")
    off = spawn(ALERTS_APP, LOCKCLOCK_NAMESPACE=f"{namespace}o", SENTRY_DSN=sentry.dsn,
                ALERTS_APP_SENTRY_OFF="1")  # fmt: skip
    for proc, ns in ((unset, f"{namespace}u"), (off, f"{namespace}o")):
        wait_for(
            lambda ns=ns: sum(h["status"] == "error" for h in history(client, ns, "fail", 50)) >= 3,
            15,
            "three failures",
        )
        proc.signal(signal.SIGTERM)
        assert proc.wait(10) == 0
    (line,) = unset.events("sentry")
    assert "enabled=False" in line and "SENTRY_DSN is unset" in line
    (line,) = off.events("sentry")
    assert "enabled=False" in line and "Clock(sentry=False)" in line
    assert sentry.requests == 0


def test_the_apps_own_sentry_init_is_used_not_replaced(
    spawn: Callable[..., ClockProcess], sentry: SentryReceiver
) -> None:
    elsewhere = f"http://public@127.0.0.1:{free_port()}/1"  # would lose every report
    proc = spawn(ALERTS_APP, ALERTS_APP_DSN=sentry.dsn, SENTRY_DSN=elsewhere)
    sentry.wait(lambda s: s.events("failed"), 10, "the failure event")
    time.sleep(2.5)  # two more failures: the app's logging integration must not send them
    proc.signal(signal.SIGTERM)
    assert proc.wait(10) == 0
    (line,) = proc.events("sentry")
    assert "enabled=True" in line and "the app's sentry_sdk.init" in line
    assert "public@" not in proc.log()  # the DSN's key is never logged
    events = sentry.events()
    assert len(events) == 1 and events[0]["fingerprint"][:2] == ["lockclock", "failed"]
    assert events[0]["environment"] == "from-the-app" and events[0]["release"] == "app-1"


@pytest.mark.serial
@pytest.mark.parametrize("state", ["slow", "down"])
def test_a_slow_or_down_sentry_never_delays_a_tick(
    state: str,
    spawn: Callable[..., ClockProcess],
    client: redis.Redis,
    namespace: str,
    tmp_path: Path,
) -> None:
    """Reports go out while ticks fire (outage events from the clock loop at take-over,
    check-ins and failures from job threads); Sentry holds each request 5 s or refuses
    the connection. A send that blocked the loop would make ticks seconds late."""
    now_ms = int(time.time() * 1000)
    seed_high_water_marks(
        client,
        namespace,
        {"a_skip": now_ms - 10_000, "a_latest": now_ms - 10_000, "minutely": now_ms - 180_000},
    )
    with SentryReceiver(delay_s=5.0) as slow:
        dsn = slow.dsn if state == "slow" else f"http://public@127.0.0.1:{free_port()}/1"
        proc = spawn(
            LEDGER_SCHEDULES="sec,a_skip,a_latest,minutely,fail",
            SENTRY_DSN=dsn,
            LOCKCLOCK_GRACE="2",
        )
        ledger = tmp_path / "ledger.jsonl"
        wait_for(lambda: sum(r["schedule"] == "sec" for r in read_ledger(ledger)) >= 6, 20, "runs")
        assert len(proc.events("catchup")) == 3  # the loop reported three outages meanwhile
        t0 = time.monotonic()
        proc.signal(signal.SIGTERM)
        assert proc.wait(15) == 0
        stop_s = time.monotonic() - t0
        requests = slow.requests
    late = [r["start"] - r["tick"] / 1000 for r in read_ledger(ledger) if r["schedule"] == "sec"]
    median_ms, max_ms = statistics.median(late) * 1000, max(late) * 1000
    print(f"sentry {state}: lateness median {median_ms:.1f} ms, max {max_ms:.1f} ms, "
          f"{len(late)} runs; stopped in {stop_s:.2f} s")  # fmt: skip
    assert max(late) < 1.0, late
    assert stop_s < 2 + 2.0  # the flush gets what is left of the 2 s grace period, no more
    if state == "slow":
        assert requests >= 1  # Sentry was reached, and answered slowly
    (line,) = proc.events("sentry_flushed")
    assert float(line.split("limit_s=")[1].split()[0]) <= 2.0


def test_alerts_test_command(tmp_path: Path) -> None:
    def alerts_test(dsn: str | None, *target: str, **extra: str) -> Any:
        env = clock_env("redis://127.0.0.1:1/0", "cli", **extra)
        if dsn:
            env["SENTRY_DSN"] = dsn
        return run_cli("alerts", "test", *target, env=env)

    with SentryReceiver() as ok:
        res = alerts_test(ok.dsn)
        assert res.returncode == 0, res.stderr
        assert "test event: accepted (HTTP 200)" in res.stdout
        assert "test check-in (cli-alerts-test): accepted (HTTP 200)" in res.stdout
        (event,) = ok.events()
        (checkin,) = ok.checkins()
        assert event["fingerprint"] == ["lockclock", "alerts-test", "cli"]
        assert checkin["monitor_slug"] == "cli-alerts-test" and checkin["status"] == "ok"
        assert "monitor_config" not in checkin  # so no monitor is created by a test
    with SentryReceiver(status=403) as refusing:
        res = alerts_test(refusing.dsn)
    failures = [
        (res, "HTTP 403"),
        (alerts_test(f"http://public@127.0.0.1:{free_port()}/1"), "unreachable"),
        (alerts_test(None), "SENTRY_DSN is unset"),
        (alerts_test("https://s3cretkey@/nope"), "SENTRY_DSN"),
        (alerts_test(ok.dsn, ALERTS_APP, ALERTS_APP_SENTRY_OFF="1"), "off for this clock"),
    ]
    for res, needle in failures:
        lines = res.stderr.strip().splitlines()
        assert res.returncode == 2 and len(lines) == 1, (res.returncode, res.stderr)
        assert lines[0].startswith("error: ") and needle in lines[0], lines[0]
        assert "s3cretkey" not in res.stdout + res.stderr and "Traceback" not in res.stderr


def test_check_lists_each_schedules_monitor() -> None:
    env = clock_env("redis://127.0.0.1:1/0", "billing")
    res = run_cli("check", ALERTS_APP, "--count", "1", env=env)
    assert res.returncode == 0, res.stderr
    out = res.stdout
    assert "Sentry monitor billing-nightly: crontab '0 3 * * *' Europe/London, margin 5 min, " \
        "max runtime 120 min" in out  # fmt: skip
    assert "Sentry monitor billing-quarter-hour: every 15 minutes UTC" in out
    assert "no monitor: sub-minute schedule" in out and "monitors off (monitor=False)" in out
    assert "Sentry: off (SENTRY_DSN is unset)" in out
    report = {
        s["name"]: s for s in json.loads(run_cli("check", ALERTS_APP, "--json", env=env).stdout)
    }
    assert report["nightly"]["monitor"]["config"]["failure_issue_threshold"] == 2
    assert report["fail"]["monitor"] is None
    assert report["hourly_quiet"]["monitor_note"] == "monitors off (monitor=False)"

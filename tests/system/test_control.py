"""The operators' verbs over the CLI against real clocks and workers: pause holds on every
clock (across a handoff), resume runs no burst (or the last tick, with catch-up), a
trigger makes one fenced manual run, cancel stops a run, and describe, health, forget
and the audit log say what happened."""

from __future__ import annotations

import itertools
import json
import signal
import time
from collections.abc import Callable
from pathlib import Path

import redis

from lockclock.coordination.control import Actor
from lockclock.coordination.store import Store
from lockclock.logs import iso_ms
from lockclock.ops.control import Operations
from lockclock.sentry.monitors import slug_for
from tests.sentry_receiver import SentryReceiver
from tests.support import (
    ClockProcess,
    RedisServer,
    active_pid,
    cli_in_process,
    clock_env,
    run_cli,
    wait_for,
)
from tests.system.test_workers import Fleet, records, rows


def cli(redis_server: RedisServer, namespace: str, *args: str) -> tuple[int, str, str]:
    """The `lockclock` command run in this process (a subprocess costs seconds of
    imports; test_cli.py and the end of this file run it as users do)."""
    env = clock_env(redis_server.url, namespace, LOCKCLOCK_ACTOR="ops@example")
    r = cli_in_process(*args, env=env)
    return r.returncode, r.stdout, r.stderr


def ticks_run(ledger: Path, name: str) -> list[int]:
    return sorted({r["tick"] for r in rows(ledger, "start") if r["schedule"] == name})


def test_a_pause_holds_on_every_clock_and_resume_runs_no_burst(
    spawn: Callable[..., ClockProcess],
    client: redis.Redis,
    redis_server: RedisServer,
    namespace: str,
    tmp_path: Path,
) -> None:
    ledger = tmp_path / "runs.jsonl"
    fleet = Fleet(spawn, ledger, WORKER_SCHEDULES="sec,never", WORKER_JOB_SECONDS="0.05")
    fleet.clock(), fleet.clock()
    fleet.worker()
    wait_for(lambda: len(ticks_run(ledger, "sec")) >= 2, 20, "sec running")
    code, out, err = cli(redis_server, namespace, "pause", "sec", "--reason", "incident 7")
    assert code == 0, err
    assert "sec paused since" in out and "Sentry" not in out  # these clocks report to none
    paused_at_ms = int(time.time() * 1000)
    time.sleep(2.5)
    # a daily restart of the active clock during the pause: the standby honours it too
    active = next(c for c in fleet.clocks if c.pid == active_pid(client, namespace))
    active.signal(signal.SIGTERM)
    assert active.wait(10) == 0
    time.sleep(2.5)
    during = [t for t in ticks_run(ledger, "sec") if t > paused_at_ms + 500]
    assert during == [], "a tick of a paused schedule ran"
    spans = [r for r in records(client, namespace, "sec").values() if r.status == "paused"]
    (span,) = spans  # one record for the whole pause, across the handoff
    assert span.reason == "incident 7" and span.by == "ops@example"
    assert span.count is not None and span.count >= 4
    assert span.tick % 1000 != 0  # keyed off the whole seconds: no tick's record
    code, out, _ = cli(redis_server, namespace, "status")
    assert "PAUSED" in out and "incident 7" in out
    code, out, err = cli(redis_server, namespace, "resume", "sec", "--reason", "fixed")
    assert code == 0, err
    resumed_at_ms = int(time.time() * 1000)
    wait_for(lambda: [t for t in ticks_run(ledger, "sec") if t > resumed_at_ms], 5, "sec again")
    time.sleep(1.5)
    # no burst: nothing of the span ran on resume (catch-up skip)
    after = [t for t in ticks_run(ledger, "sec") if t > paused_at_ms + 500]
    assert all(t >= resumed_at_ms - 1000 for t in after), after
    span = records(client, namespace, "sec")[span.tick]
    assert span.ended_ms is not None and span.resumed_by == "ops@example"
    code, out, _ = cli(redis_server, namespace, "audit", "sec", "--json")
    actions = [(e["action"], e["actor"], e["reason"]) for e in json.loads(out)]
    assert actions[:2] == [
        ("resume", "ops@example", "fixed"),
        ("pause", "ops@example", "incident 7"),
    ]
    fleet.stop(fleet.clocks + fleet.workers)


def test_resume_with_catchup_latest_runs_the_last_paused_tick_once(
    spawn: Callable[..., ClockProcess],
    client: redis.Redis,
    redis_server: RedisServer,
    namespace: str,
    tmp_path: Path,
) -> None:
    ledger = tmp_path / "runs.jsonl"
    fleet = Fleet(spawn, ledger, WORKER_SCHEDULES="every2s", WORKER_JOB_SECONDS="0.05")
    fleet.clock()
    fleet.worker()
    wait_for(lambda: ticks_run(ledger, "every2s"), 20, "every2s running")
    assert cli(redis_server, namespace, "pause", "--all", "--reason", "deploy")[0] == 0
    before = set(ticks_run(ledger, "every2s"))
    time.sleep(5)
    code, out, err = cli(
        redis_server, namespace, "resume", "--all", "--catchup", "latest", "--reason", "done"
    )
    assert code == 0, err
    assert "fence" in out  # the catch-up run, granted by the active clock
    (span,) = [r for r in records(client, namespace, "every2s").values() if r.status == "paused"]
    assert span.last_ms is not None
    wait_for(lambda: span.last_ms in ticks_run(ledger, "every2s"), 5, "the last paused tick")
    time.sleep(1)
    caught_up = [t for t in set(ticks_run(ledger, "every2s")) - before if t <= span.last_ms]
    assert caught_up == [span.last_ms]  # the last tick of the span, once; no other
    rec = records(client, namespace, "every2s")[span.last_ms]
    assert rec.trigger == "resume" and rec.status == "ok" and rec.fence
    fleet.stop(fleet.clocks + fleet.workers)


def test_a_trigger_runs_a_never_due_schedule_once_with_its_own_fence(
    spawn: Callable[..., ClockProcess],
    client: redis.Redis,
    redis_server: RedisServer,
    namespace: str,
    tmp_path: Path,
) -> None:
    ledger = tmp_path / "runs.jsonl"
    fleet = Fleet(spawn, ledger, WORKER_SCHEDULES="never,never_long", WORKER_LONG_SECONDS="30")
    fleet.clock()
    fleet.worker()
    store = Store(client, namespace)
    wait_for(lambda: "never" in store.schedules.published(), 20, "the schedules published")
    hwm_before = client.hget(store.keys.hwm, "never")
    code, out, err = cli(redis_server, namespace, "trigger", "never", "--reason", "by hand")
    assert code == 0, err
    assert "never: run " in out and "fence" in out
    (start,) = wait_for(lambda: rows(ledger, "start"), 10, "the manual run")
    wait_for(lambda: rows(ledger, "end"), 10, "it to end")
    (rec,) = [r for r in records(client, namespace, "never").values() if r.trigger == "manual"]
    assert (rec.status, rec.fence, rec.by, rec.reason) == (
        "ok",
        start["fence"],
        "ops@example",
        "by hand",
    )
    assert rec.tick == start["tick"] and rec.tick % 1000 != 0
    assert client.hget(store.keys.hwm, "never") == hwm_before  # the ticks are untouched
    code, out, _ = cli(redis_server, namespace, "history", "never")
    assert "manual ok" in out
    # an Idempotency-Key: two requests, one run
    ops = Operations(store)
    who = Actor(actor="ci", source="python", reason="retry")
    first, new = ops.trigger("never", who=who, idempotency_key="k1")
    again, new_again = ops.trigger("never", who=who, idempotency_key="k1")
    assert (first == again, new, new_again) == (True, True, False)
    ops.wait(first, 5)
    wait_for(lambda: len(rows(ledger, "end")) == 2, 10, "the second manual run")
    time.sleep(1)
    assert len(rows(ledger, "start")) == 2
    # overlap 'skip': a trigger while a run has not ended is refused, --force runs anyway
    assert cli(redis_server, namespace, "trigger", "never_long", "--reason", "a")[0] == 0
    wait_for(
        lambda: [r for r in rows(ledger, "start") if r["schedule"] == "never_long"], 10, "long"
    )
    code, _, err = cli(redis_server, namespace, "trigger", "never_long", "--reason", "b")
    assert code == 2 and "refused" in err and "overlap policy is skip" in err, err
    assert "Traceback" not in err
    code, out, err = cli(
        redis_server, namespace, "trigger", "never_long", "--force", "--reason", "c"
    )
    assert code == 0, err
    wait_for(
        lambda: len([r for r in rows(ledger, "start") if r["schedule"] == "never_long"]) == 2,
        10,
        "the forced run",
    )
    # cancel stops both; describe counts them; the audit has every action
    code, out, err = cli(redis_server, namespace, "cancel", "never_long", "--reason", "enough")
    assert code == 0 and out.count("asked to stop") == 2, (out, err)
    wait_for(
        lambda: (
            [r.status for r in records(client, namespace, "never_long").values()]
            == ["cancelled", "cancelled"]
        ),
        10,
        "both cancelled",
    )
    code, out, _ = cli(redis_server, namespace, "describe", "never_long", "--json")
    described = json.loads(out)
    assert described["stats"]["last_24h"]["cancelled"] == 2
    assert len(described["next_ticks"]) == 10 and described["next_ticks"][0].endswith(
        "01-01T00:00:00.000Z"
    )
    code, out, _ = cli(redis_server, namespace, "audit", "--json")
    assert [e["action"] for e in json.loads(out)].count("trigger") == 5
    assert [e["action"] for e in json.loads(out)].count("cancel") == 2
    code, _, err = cli(redis_server, namespace, "cancel", "never_long", "--reason", "again")
    assert code == 2 and "nothing to cancel" in err
    fleet.stop(fleet.clocks + fleet.workers)


def test_health_forget_and_refusals_say_what_to_do(
    spawn: Callable[..., ClockProcess],
    client: redis.Redis,
    redis_server: RedisServer,
    namespace: str,
    tmp_path: Path,
) -> None:
    ledger = tmp_path / "runs.jsonl"
    code, out, _ = cli(redis_server, namespace, "health")
    assert code == 1 and "no clock has held the lease" in out
    old = Fleet(spawn, ledger, WORKER_SCHEDULES="sec,never", LOCKCLOCK_DISPATCH="inline")
    old.clock()
    wait_for(lambda: ticks_run(ledger, "sec"), 20, "sec running inline")
    code, out, _ = cli(redis_server, namespace, "health", "--json")
    assert code == 0 and json.loads(out)["ok"] is True
    code, _, err = cli(redis_server, namespace, "forget", "sec")
    assert code == 2 and "still published" in err
    code, _, err = cli(redis_server, namespace, "pause", "sec")
    assert code == 2 and "needs a reason" in err
    code, _, err = cli(redis_server, namespace, "pause", "nope", "--reason", "x")
    assert code == 2 and "no schedule named 'nope'" in err
    code, _, err = cli(redis_server, namespace, "resume", "never")
    assert code == 2 and "not paused" in err
    code, _, err = cli(
        redis_server, namespace, "pause", "sec", "--reason", "x", "--until", "yesterday"
    )
    assert code == 2 and "invalid time" in err and "Traceback" not in err
    old.stop(old.clocks)
    # the next deploy has no 'sec': it is an orphan, and forget removes its keys
    new = Fleet(spawn, ledger, WORKER_SCHEDULES="never", LOCKCLOCK_DISPATCH="inline")
    new.clock()
    store = Store(client, namespace)
    wait_for(lambda: list(store.schedules.published()) == ["never"], 20, "the new deploy")
    code, out, _ = cli(redis_server, namespace, "status", "--json")
    assert json.loads(out)["orphans"] == ["sec"]
    code, out, err = cli(redis_server, namespace, "forget", "sec", "--reason", "removed")
    assert code == 0 and "forgotten" in out, err
    assert not client.exists(
        store.keys.runs("sec"), store.keys.ticks("sec"), store.keys.stats("sec")
    )
    assert client.hget(store.keys.hwm, "sec") is None
    code, _, err = cli(redis_server, namespace, "forget", "sec")
    assert code == 2 and "no records" in err
    new.stop(new.clocks)
    time.sleep(3.5)  # past three leases of 1 s with no clock
    code, out, _ = cli(redis_server, namespace, "health")
    assert code == 1 and "no clock renewed the lease" in out


def test_a_backfill_replays_the_paused_ticks_in_order_each_with_its_own_fence(
    spawn: Callable[..., ClockProcess],
    client: redis.Redis,
    redis_server: RedisServer,
    namespace: str,
    tmp_path: Path,
) -> None:
    ledger = tmp_path / "runs.jsonl"
    fleet = Fleet(spawn, ledger, WORKER_SCHEDULES="every2s", WORKER_JOB_SECONDS="0.2")
    fleet.clock()
    fleet.worker()
    wait_for(lambda: len(ticks_run(ledger, "every2s")) >= 2, 20, "every2s running")
    assert cli(redis_server, namespace, "pause", "every2s", "--reason", "bad data")[0] == 0
    time.sleep(6.5)
    assert cli(redis_server, namespace, "resume", "every2s", "--reason", "fixed")[0] == 0
    (span,) = [r for r in records(client, namespace, "every2s").values() if r.status == "paused"]
    assert span.first_ms and span.last_ms and span.count and span.count >= 2
    ran_ok = ticks_run(ledger, "every2s")[-1]
    start, end = iso(min(span.first_ms - 2000, ran_ok)), iso(span.last_ms)
    args = ("backfill", "every2s", "--from", start, "--to", end, "--reason", "replay")
    code, out, err = cli(redis_server, namespace, *args, "--dry-run")
    assert code == 0, err
    assert "skip: ran ok" in out and f"{iso(span.first_ms)}  run  (was no record)" in out
    assert "nothing ran" in out
    assert not [r for r in rows(ledger, "start") if r["trigger"] == "backfill"]
    code, out, err = cli(redis_server, namespace, *args, "--wait")
    assert code == 0, err
    assert f"done: {span.count} ok, 0 not ok" in out
    backfilled = [r for r in rows(ledger, "start") if r["trigger"] == "backfill"]
    # every paused tick once, oldest first, each with a fence above the one before
    assert [r["for_tick"] for r in backfilled] == list(range(span.first_ms, span.last_ms + 1, 2000))
    fences = [r["fence"] for r in backfilled]
    assert fences == sorted(fences) and len(set(fences)) == len(fences)
    ends = {r["fence"]: r["t"] for r in rows(ledger, "end")}
    for a, b in itertools.pairwise(backfilled):
        assert b["t"] >= ends[a["fence"]]  # one after another, never two at once
    # keyed apart: the paused ticks still have no record of their own
    recs = records(client, namespace, "every2s")
    assert all(r["for_tick"] not in recs for r in backfilled)
    assert all(r["tick"] % 1000 != 0 for r in backfilled)
    code, out, _ = cli(redis_server, namespace, "history", "every2s", "--limit", "30")
    assert out.count("backfill ok") == span.count
    fleet.stop(fleet.clocks + fleet.workers)


def iso(ms: int) -> str:
    return iso_ms(ms) or ""


def sentry_api_env(
    redis_server: RedisServer, namespace: str, sentry: SentryReceiver
) -> dict[str, str]:
    """An operator's environment with a Sentry API token, the API on the local receiver."""
    return clock_env(
        redis_server.url, namespace, LOCKCLOCK_ACTOR="ops", SENTRY_AUTH_TOKEN="sntrys_secret",
        SENTRY_ORG="acme", SENTRY_URL=f"http://127.0.0.1:{sentry.port}",
    )  # fmt: skip


def test_a_pause_mutes_the_sentry_monitor_and_resume_unmutes_it(
    spawn: Callable[..., ClockProcess],
    client: redis.Redis,
    redis_server: RedisServer,
    namespace: str,
    tmp_path: Path,
    sentry: SentryReceiver,
) -> None:
    """The slug muted is the one the clock checks in to: the default one, or the
    schedule's own `monitor="..."`."""
    fleet = Fleet(
        spawn, tmp_path / "runs.jsonl", WORKER_SCHEDULES="never,never_slugged",
        LOCKCLOCK_DISPATCH="inline", SENTRY_DSN=sentry.dsn,
    )  # fmt: skip
    fleet.clock()
    store = Store(client, namespace)
    wait_for(lambda: len(store.schedules.published()) == 2, 20, "the schedules published")
    env = sentry_api_env(redis_server, namespace, sentry)
    r = run_cli("pause", "never", "--reason", "maintenance", env=env)
    assert r.returncode == 0, r.stderr
    assert "monitor is muted" in r.stdout and "sntrys_secret" not in r.stdout + r.stderr
    r = run_cli("resume", "never", env=env)
    assert r.returncode == 0, r.stderr
    own = "/api/0/organizations/acme/monitors/acme-yearly-report/"
    default = f"/api/0/organizations/acme/monitors/{slug_for(namespace, 'never')}/"
    r = cli_in_process("pause", "never_slugged", "--reason", "migration", env=env)
    assert r.returncode == 0 and "monitor is muted" in r.stdout
    r = cli_in_process("pause", "--all", "--reason", "freeze", env=env)
    assert r.returncode == 0 and "monitor is muted" in r.stdout
    assert sentry.api_calls == [
        ("PUT", default, "Bearer sntrys_secret", {"isMuted": True}),
        ("PUT", default, "Bearer sntrys_secret", {"isMuted": False}),
        ("PUT", own, "Bearer sntrys_secret", {"isMuted": True}),
        ("PUT", default, "Bearer sntrys_secret", {"isMuted": True}),
        ("PUT", own, "Bearer sntrys_secret", {"isMuted": True}),
    ]
    # without a token, pause says what Sentry will do
    code, out, _ = cli(redis_server, namespace, "pause", "never", "--reason", "again")
    assert code == 0 and "Sentry will report the paused ticks as missed" in out
    fleet.stop(fleet.clocks)


def test_a_pause_of_a_schedule_no_sentry_watches_mutes_nothing(
    spawn: Callable[..., ClockProcess],
    client: redis.Redis,
    redis_server: RedisServer,
    namespace: str,
    tmp_path: Path,
    sentry: SentryReceiver,
) -> None:
    """A clock reporting to no Sentry publishes no monitor: pause calls no API and does
    not warn of missed check-ins that nothing will report."""
    fleet = Fleet(
        spawn, tmp_path / "runs.jsonl", WORKER_SCHEDULES="never", LOCKCLOCK_DISPATCH="inline"
    )
    fleet.clock()
    store = Store(client, namespace)
    wait_for(lambda: "never" in store.schedules.published(), 20, "the schedule published")
    assert store.schedules.published()["never"].monitor is None
    env = sentry_api_env(redis_server, namespace, sentry)
    r = cli_in_process("pause", "never", "--reason", "maintenance", env=env)
    assert r.returncode == 0 and "paused since" in r.stdout
    assert "Sentry" not in r.stdout and sentry.api_calls == []
    code, out, _ = cli(redis_server, namespace, "pause", "never", "--reason", "again")
    assert code == 0 and "Sentry" not in out
    fleet.stop(fleet.clocks)


def test_a_pause_until_a_time_ends_by_itself(
    spawn: Callable[..., ClockProcess],
    client: redis.Redis,
    redis_server: RedisServer,
    namespace: str,
    tmp_path: Path,
) -> None:
    ledger = tmp_path / "runs.jsonl"
    fleet = Fleet(spawn, ledger, WORKER_SCHEDULES="sec", LOCKCLOCK_DISPATCH="inline")
    fleet.clock()
    wait_for(lambda: ticks_run(ledger, "sec"), 20, "sec running")
    until_ms = (int(time.time()) + 6) * 1000
    code, _, err = cli(
        redis_server, namespace, "pause", "sec", "--reason", "a moment", "--until", iso(until_ms)
    )
    assert code == 0, err
    paused_at = int(time.time() * 1000)
    wait_for(lambda: [t for t in ticks_run(ledger, "sec") if t >= until_ms], 9, "sec after --until")
    assert not [t for t in ticks_run(ledger, "sec") if paused_at + 500 < t < until_ms]
    store = Store(client, namespace)
    entries = wait_for(
        lambda: [e for e in store.control.audit(limit=5) if e.action == "resume"], 8, "the end"
    )
    assert (entries[0].actor, entries[0].reason) == ("lockclock", "the pause ran out")
    # the active clock closes the span with the next pass over requests
    wait_for(
        lambda: [
            r for r in records(client, namespace, "sec").values() if r.ended_ms and r.pause_id
        ],
        3,
        "the span closed",
    )
    fleet.stop(fleet.clocks)

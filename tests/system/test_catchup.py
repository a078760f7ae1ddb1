"""Every clock down across many ticks, then one comes back: each catch-up policy."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from pathlib import Path

import redis

from tests.support import ClockProcess, history, outages, read_ledger, wait_for

ONTIME_S = 3.0  # three leases of 1 s: younger ticks are ordinary lag and always run
POLICIES = "skip,latest,all3,all_maxlate5"


def test_catchup_policies_after_total_outage(
    spawn: Callable[..., ClockProcess], client: redis.Redis, namespace: str, tmp_path: Path
) -> None:
    ledger_path = tmp_path / "ledger.jsonl"
    first = spawn(LEDGER_SCHEDULES=POLICIES)
    wait_for(lambda: len(read_ledger(ledger_path)) >= 8, 15, "runs before the outage")
    first.signal(signal.SIGKILL)  # a crash: the lease is left to lapse
    first.wait(5)
    time.sleep(10)
    second = spawn(LEDGER_SCHEDULES=POLICIES)
    wait_for(lambda: second.events("catchup"), 10, "the catch-up decision")
    time.sleep(2)
    second.signal(signal.SIGTERM)
    assert second.wait(10) == 0
    ledger = read_ledger(ledger_path)
    for name in POLICIES.split(","):
        hist = sorted(history(client, namespace, name, 1000), key=lambda h: h["tick"])
        ticks = [h["tick"] for h in hist]
        # every tick from the first to the last has exactly one record: run or missed
        assert ticks == list(range(ticks[0], ticks[-1] + 1000, 1000)), name
        missed = [h["tick"] for h in hist if h["status"] == "missed"]
        outage = outages(client, namespace, name)
        assert len(outage) == 1, f"{name}: one outage window, got {outage}"
        window = outage[0]
        # the window's ticks that ran: all claimed late, past the on-time window
        late = [
            h
            for h in hist
            if h["status"] != "missed" and window["first_ms"] <= h["tick"] <= window["last_ms"]
        ]
        assert all(h["late_ms"] > ONTIME_S * 1000 for h in late), name
        late_ticks = list(range(window["first_ms"], window["last_ms"] + 1000, 1000))
        assert window["count"] == len(late_ticks) >= 7
        assert sorted(missed + [h["tick"] for h in late]) == late_ticks, name
        ran = sorted(r["tick"] for r in ledger if r["schedule"] == name)
        assert len(ran) == len(set(ran)), f"{name}: duplicate dispatch"
        assert not set(ran) & set(missed), f"{name}: a tick both missed and run"
        # a run the stopping clock handed back before its job began waits, queued, for the
        # next clock (long jobs resume): claimed, not yet run
        waiting = {"missed", "queued", "waiting"}
        assert set(ran) == {h["tick"] for h in hist if h["status"] not in waiting}
        if name == "skip":
            assert late == [] and window["run_late"] == 0
        elif name == "latest":
            assert [h["tick"] for h in late] == [late_ticks[-1]]
        elif name == "all3":
            assert [h["tick"] for h in late] == late_ticks[-3:]
        elif name == "all_maxlate5":
            assert late and all(h["late_ms"] <= 5000 + 500 for h in late)
            assert missed and min(missed) == late_ticks[0]
    assert second.events("catchup")[0].count("policy=") == 1

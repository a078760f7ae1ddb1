"""Several clocks with 1,000 schedules do not do 1,000x the Redis work of one: standbys
never touch schedules, and an idle active clock only renews its lease."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from tests.support import ClockProcess, RedisServer, clock_env, wait_for


def commands_per_second(tmp_path: Path, schedules: int, clocks: int) -> float:
    server = RedisServer(tmp_path / f"r{schedules}-{clocks}")
    server.start()
    procs: list[ClockProcess] = []
    try:
        env = clock_env(server.url, "scale", MANY_SCHEDULES=str(schedules))
        logs = [tmp_path / f"{schedules}-{i}.log" for i in range(clocks)]
        procs = [ClockProcess("tests.apps.many_app:clock", env, log).start() for log in logs]
        wait_for(lambda: any(p.events("lease_acquired") for p in procs), 60, "an active clock")
        time.sleep(2)  # past start-up and registration
        client = server.client()
        before = int(client.info("stats")["total_commands_processed"])
        time.sleep(5)
        after = int(client.info("stats")["total_commands_processed"])
        return (after - before - 1) / 5
    finally:
        for p in procs:
            p.signal(signal.SIGTERM)
        for p in procs:
            p.wait(10)
        server.stop()


@pytest.mark.serial
def test_redis_work_does_not_grow_with_schedules(tmp_path: Path) -> None:
    one = commands_per_second(tmp_path, schedules=1, clocks=3)
    many = commands_per_second(tmp_path, schedules=1000, clocks=3)
    assert one > 0
    # the same handful of lease and heartbeat commands per clock, whatever the count: the
    # active one (about 27 a second) also beats its worker lease, reads its queue and
    # reaps; a standby (about 17) heartbeats, tries the lease and waits on its signal
    assert many < one * 1.5 + 2, (one, many)
    assert many < 75, many

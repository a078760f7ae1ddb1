"""A clock whose host wall clock is off by 30 s, either way, fires on time by Redis time.

libfaketime (installed by scripts/bootstrap) shifts the clock process's view of
time without any hook in lockclock.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable

import pytest
import redis

from tests.support import ClockProcess, history, skewed_env, wait_for


@pytest.mark.parametrize("skew", ["+30s", "-30s"])
def test_skewed_host_clock_fires_on_time(
    skew: str,
    spawn: Callable[..., ClockProcess],
    client: redis.Redis,
    namespace: str,
) -> None:
    # A skewed host has a wrong wall clock (CLOCK_REALTIME); its monotonic clock, which
    # the kernel also uses for timed waits, is unaffected. The library is preloaded
    # directly: the faketime wrapper would not pass SIGTERM on.
    proc = spawn(**skewed_env(skew))
    wait_for(lambda: len(proc.events("fire")) >= 4, 15, "fires from the skewed clock")
    time.sleep(1)
    proc.signal(signal.SIGTERM)
    assert proc.wait(10) == 0
    hist = history(client, namespace, "sec", 100)
    assert len(hist) >= 4
    for h in hist:  # claimed by Redis time: never early, never late by the skew
        assert 0 <= h["late_ms"] < 500, h


@pytest.mark.parametrize(("skew", "offset"), [("+30s", 30), ("-30s", -30)])
def test_a_skewed_process_has_a_wrong_wall_clock_and_can_still_sleep(
    skew: str, offset: int
) -> None:
    """What the skew fault must be: only the wall clock moves. (libfaketime alone makes
    every time.sleep() raise EINVAL; tests/sleep_shim.c fixes that.)"""
    code = (
        "import time; t = time.monotonic(); time.sleep(0.2); "
        "print(time.time(), time.monotonic() - t)"
    )
    res = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, **skewed_env(skew)}, capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    wall, slept = (float(x) for x in res.stdout.split())
    assert abs(wall - time.time() - offset) < 5
    assert 0.19 <= slept < 1.0

"""Run N clocks locally the way a platform's process manager would.

Unlike honcho or foreman, which stop everything when one process exits, this
restarts a clock that dies (after a second, like a crashed dyno), so you can
kill -9 either clock and watch the other take over:

    python scripts/clocks.py --clocks 2 examples.app

Each clock gets DYNO=clock.N; Ctrl-C or SIGTERM stops them all, gracefully.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading
import time

stopping = threading.Event()
print_lock = threading.Lock()


def say(name: str, line: str) -> None:
    with print_lock:
        sys.stdout.write(f"{time.strftime('%H:%M:%S')} {name:<8}| {line}\n")
        sys.stdout.flush()


def supervise(n: int, target: str, procs: dict[int, subprocess.Popen[bytes]]) -> None:
    name = f"clock.{n}"
    while not stopping.is_set():
        env = {**os.environ, "DYNO": name, "PYTHONUNBUFFERED": "1"}
        proc = subprocess.Popen(
            [sys.executable, "-m", "lockclock", "run", target],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        procs[n] = proc
        say("system", f"{name} started (pid={proc.pid})")
        assert proc.stdout is not None
        for raw in proc.stdout:
            say(name, raw.decode(errors="replace").rstrip("\n"))
        code = proc.wait()
        say("system", f"{name} exited (rc={code})")
        if not stopping.is_set():
            stopping.wait(1.0)  # restart, as a dyno manager would


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("target", help="MODULE[:ATTR] as for lockclock run")
    ap.add_argument("--clocks", type=int, default=2)
    args = ap.parse_args()
    procs: dict[int, subprocess.Popen[bytes]] = {}

    def stop(_sig: int, _frame: object) -> None:
        if not stopping.is_set():
            say("system", "stopping all clocks")
        stopping.set()
        for p in list(procs.values()):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    threads = [
        threading.Thread(target=supervise, args=(n, args.target, procs), daemon=True)
        for n in range(1, args.clocks + 1)
    ]
    for t in threads:
        t.start()
    while not stopping.is_set():
        stopping.wait(0.5)
    for t in threads:
        t.join(35)
    return 0


if __name__ == "__main__":
    sys.exit(main())

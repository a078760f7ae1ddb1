"""Run N clocks (and M workers) locally the way a platform's process manager would.

Unlike honcho or foreman, which stop everything when one process exits, this
restarts a process that dies (after a second, like a crashed dyno), so you can
kill -9 any of them and watch the others take over:

    python scripts/clocks.py --clocks 2 --workers 2 examples.app
    python scripts/clocks.py --clocks 0 --web 2 examples.web_app:app   # embedded

Each gets DYNO=clock.N or worker.N; Ctrl-C or SIGTERM stops them all, gracefully.
"""

from __future__ import annotations

import argparse
import os
import secrets
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


def command_for(name: str, target: str) -> list[str]:
    if name.startswith("web."):  # an ASGI app that embeds the clock, on port 8000 + N
        port = str(8000 + int(name.split(".")[1]))
        return [sys.executable, "-m", "uvicorn", target, "--port", port, "--log-level", "warning"]
    command = "worker" if name.startswith("worker.") else "run"
    return [sys.executable, "-m", "lockclock", command, target]


def supervise(name: str, target: str, procs: dict[str, subprocess.Popen[bytes]]) -> None:
    while not stopping.is_set():
        env = {**os.environ, "DYNO": name, "PYTHONUNBUFFERED": "1"}
        proc = subprocess.Popen(
            command_for(name, target),
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        procs[name] = proc
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
    ap.add_argument("--workers", type=int, default=0)
    ap.add_argument("--web", type=int, default=0, help="web processes: TARGET is an ASGI app")
    args = ap.parse_args()
    if args.web and not os.environ.get("LOCKCLOCK_API_TOKEN"):
        os.environ["LOCKCLOCK_API_TOKEN"] = secrets.token_hex(16)
    if args.web:
        say("system", f"dashboard: http://127.0.0.1:8001/lockclock/ui/ (and :{8000 + args.web})")
        say("system", f"log in with LOCKCLOCK_API_TOKEN={os.environ['LOCKCLOCK_API_TOKEN']}")
    procs: dict[str, subprocess.Popen[bytes]] = {}

    def stop(_sig: int, _frame: object) -> None:
        if not stopping.is_set():
            say("system", "stopping all processes")
        stopping.set()
        for p in list(procs.values()):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    names = [f"clock.{n}" for n in range(1, args.clocks + 1)]
    names += [f"worker.{n}" for n in range(1, args.workers + 1)]
    names += [f"web.{n}" for n in range(1, args.web + 1)]
    threads = [
        threading.Thread(target=supervise, args=(name, args.target, procs), daemon=True)
        for name in names
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

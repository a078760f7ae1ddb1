from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from lockclock import Clock
from lockclock.coordination.store import Store
from lockclock.engine.loop import ClockLoop
from lockclock.runtime.connection import connect
from lockclock.runtime.process import assemble_loop
from lockclock.settings import Settings
from tests.sentry_receiver import SentryReceiver
from tests.support import ClockProcess, RedisServer, clock_env


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def namespace() -> str:
    return f"t{uuid.uuid4().hex[:10]}"


@pytest.fixture
def client(redis_server: RedisServer) -> redis.Redis:
    return redis_server.client()


@pytest.fixture
def spawn(
    redis_server: RedisServer, namespace: str, tmp_path: Path
) -> Iterator[Callable[..., ClockProcess]]:
    """Start `lockclock run` subprocesses; all are killed at the end of the test."""
    procs: list[ClockProcess] = []

    def _spawn(
        target: str = "tests.apps.ledger_app:clock",
        *,
        command: str = "run",
        args: tuple[str, ...] = (),
        **env: str,
    ) -> ClockProcess:
        env.setdefault("LEDGER_FILE", str(tmp_path / "ledger.jsonl"))
        env.setdefault("LOCKCLOCK_LEASE_TTL", "1")
        p = ClockProcess(
            target,
            clock_env(env.pop("REDIS_URL", redis_server.url), namespace, **env),
            tmp_path / f"{command}{len(procs)}.log",
            command=command,
            args=args,
        )
        procs.append(p)
        return p.start()

    yield _spawn
    for p in procs:
        p.ensure_dead()


@pytest.fixture
def sentry() -> Iterator[SentryReceiver]:
    """A local stand-in for Sentry: what the real SDK in a clock process would send."""
    with SentryReceiver() as receiver:
        yield receiver


@pytest.fixture
def make_loop(redis_server: RedisServer, namespace: str) -> Iterator[Callable[..., ClockLoop]]:
    """Clock loops in this process against the real redis-server, driven step by step
    with `loop.step()` (wired as `lockclock run` wires them: log hook, inline jobs).
    Each is stopped (lease released, jobs waited for) at the end of the test."""
    loops: list[ClockLoop] = []

    def _make(clock: Clock, *, lease_ttl_s: float = 1.0, grace_s: float = 2.0) -> ClockLoop:
        url = redis_server.url
        settings = Settings(
            redis_url=url, namespace=namespace, lease_ttl_s=lease_ttl_s, grace_s=grace_s
        )
        loop = assemble_loop(
            schedules=clock.schedules,
            alerting=clock.alerting,
            settings=settings,
            store=Store(connect(url, socket_timeout=1.0), namespace),
            blocking=connect(url, socket_timeout=lease_ttl_s + 2, retries=0),
        )
        loops.append(loop)
        return loop

    yield _make
    for loop in loops:
        if not loop.stopping:
            loop.stop()
            loop.run()  # returns at once: only the shutdown is left

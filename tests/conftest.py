from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

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

    def _spawn(target: str = "tests.apps.ledger_app:clock", **env: str) -> ClockProcess:
        env.setdefault("LEDGER_FILE", str(tmp_path / "ledger.jsonl"))
        env.setdefault("LOCKCLOCK_LEASE_TTL", "1")
        p = ClockProcess(
            target,
            clock_env(env.pop("REDIS_URL", redis_server.url), namespace, **env),
            tmp_path / f"clock{len(procs)}.log",
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

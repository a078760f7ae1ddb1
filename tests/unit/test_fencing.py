from __future__ import annotations

import sqlite3

import pytest

from lockclock.fencing import FENCED_SQL_UPDATE, FencedRedis, StaleFenceError
from lockclock.runtime.connection import connect
from tests.support import RedisServer


def test_redis_writes_with_an_older_fence_are_refused(
    redis_server: RedisServer, namespace: str
) -> None:
    client = connect(redis_server.url)
    store = FencedRedis(client)
    key = f"{namespace}:report"
    store.set(key, "from run 7", fence=7)
    store.set(key, "from run 7 again", fence=7)  # the same run may write twice
    store.set(key, "from run 9", fence=9)
    with pytest.raises(StaleFenceError, match="fence 8"):
        store.set(key, "from the zombie run 8", fence=8)
    assert client.get(key) == "from run 9"


def test_outside_a_job_the_fence_must_be_given(redis_server: RedisServer) -> None:
    with pytest.raises(RuntimeError, match="only available inside a lockclock job"):
        FencedRedis(connect(redis_server.url)).set("k", "v")


def test_sql_pattern_refuses_older_fences() -> None:
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE report (id INTEGER PRIMARY KEY, body, fence)")
    db.execute("INSERT INTO report VALUES (1, '', 0)")
    assert db.execute(FENCED_SQL_UPDATE, {"body": "b9", "fence": 9, "id": 1}).rowcount == 1
    assert db.execute(FENCED_SQL_UPDATE, {"body": "b8", "fence": 8, "id": 1}).rowcount == 0
    assert db.execute("SELECT body FROM report").fetchone() == ("b9",)

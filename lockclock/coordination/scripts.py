"""Loading the Lua scripts: each `lua/<name>.lua` runs with `lua/prelude.lua` before it,
and with the shared parts its first line names (`-- include: runs audit`).

redis-py's `Script` sends EVALSHA and reloads the script after a `SCRIPT FLUSH`, inside
pipelines too. Every script is safe to retry: redis-py sends a command again after a
timeout, so a script must answer a repeated call as it answered the first.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

import redis
from redis.commands.core import Script


@cache
def source(name: str) -> str:
    """The full text Redis runs for `name`: the prelude, then the script."""
    lua = resources.files("lockclock.coordination").joinpath("lua")
    body = lua.joinpath(f"{name}.lua").read_text()
    parts = [lua.joinpath("prelude.lua").read_text()]
    first = body.split("\n", 1)[0]
    if first.startswith("-- include:"):
        for part in first.removeprefix("-- include:").split():
            parts.append(lua.joinpath(f"{part}.lua").read_text())
    return "\n".join([*parts, body])


def load(client: redis.Redis, name: str) -> Script:
    return client.register_script(source(name))

"""One namespace on one Redis: the key table and every script, by concept.

`Store(client, namespace)` is what the engine, the workers and the operators' tools are
given; each part is a small class of its own module.
"""

from __future__ import annotations

import redis

from .claims import Claims
from .clocks import ClockRegistry
from .control import ControlStore
from .history import History
from .keys import Keys
from .lease import Lease
from .reaping import Reaper
from .runs import Runs
from .schedules import ScheduleTable
from .workers import WorkerRegistry


class Store:
    def __init__(self, client: redis.Redis, namespace: str = "lockclock") -> None:
        self.redis = client
        self.ns = namespace
        self.keys = Keys(namespace)
        self.lease = Lease(client, self.keys)
        self.claims = Claims(client, self.keys)
        self.schedules = ScheduleTable(client, self.keys)
        self.clocks = ClockRegistry(client, self.keys)
        self.history = History(client, self.keys)
        self.runs = Runs(client, self.keys)
        self.workers = WorkerRegistry(client, self.keys)
        self.reaper = Reaper(client, self.keys)
        self.control = ControlStore(client, self.keys)

    def server_ms(self) -> int:
        sec, usec = self.redis.time()
        return int(sec) * 1000 + int(usec) // 1000

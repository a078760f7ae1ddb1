"""Wiring one `lockclock worker` process: settings, Redis, hooks, the worker service,
signals. SIGTERM stops reading at once; running jobs get the grace period; what is still
running then is handed back, and the process exits 0 inside the grace."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..coordination.failures import auth_message
from ..coordination.store import Store
from ..engine.leadership import new_clock_id
from ..errors import ConfigError, RedisAuthError
from ..execution.service import WorkerService
from ..hooks import Hook, Hooks
from ..logs import EventLog
from ..settings import resolve
from . import logfmt, signals
from .connection import connect, describe_url
from .log_hook import LogHook
from .process import redis_url_for, sentry_hook

if TYPE_CHECKING:
    from ..app import Clock

BLOCK_MS = 500


def run_worker(
    clock: Clock,
    overrides: dict[str, Any],
    *,
    queues: Sequence[str] | None,
    concurrency: int | None,
) -> int:
    settings = resolve({**overrides, "concurrency": concurrency}, clock.options)
    logfmt.setup(settings.log_level)
    schedules = {s.name: s for s in clock.schedules}
    served = sorted(queues) if queues else sorted({s.queue for s in schedules.values()})
    if not served:
        raise ConfigError("no schedules and no --queues: a worker has nothing to consume")
    if not any(s.queue in served for s in schedules.values()):
        raise ConfigError(
            f"none of the app's schedules use the queues {', '.join(served)}: check --queues "
            f"(they use {', '.join(sorted({s.queue for s in schedules.values()})) or 'none'})"
        )
    url = redis_url_for(settings)
    client = connect(url, socket_timeout=max(0.25, min(1.0, settings.worker_lease_s / 3)))
    blocking = connect(url, socket_timeout=BLOCK_MS / 1000 + 2.0, retries=0)
    worker_id = new_clock_id()
    log = EventLog("lockclock.worker", worker=worker_id)
    log.info("redis", url=describe_url(url), namespace=settings.namespace)
    hooks: list[Hook] = [LogHook(worker_id)]
    sentry = sentry_hook(settings, clock.schedules, clock.alerting)
    if sentry is not None:
        hooks.append(sentry)
    fan_out = Hooks(hooks)
    service = WorkerService(
        store=Store(client, settings.namespace),
        blocking=blocking,
        hooks=fan_out,
        schedules=schedules,
        queues=served,
        worker_id=worker_id,
        kind="worker",
        concurrency=settings.concurrency,
        lease_ttl_s=settings.worker_lease_s,
        now_ms=lambda: int(time.time() * 1000),
        at_deadline="hand_back",
        ontime_ms=int(3 * settings.lease_ttl_s * 1000),
        grace_s=settings.grace_s,
        wait_replicas=settings.wait_replicas,
    )
    stop, force = threading.Event(), threading.Event()
    stop_at = [0.0]

    def on_signal(_signum: int, _frame: object) -> None:
        if stop.is_set():
            force.set()
            return
        stop_at[0] = time.monotonic()
        stop.set()

    signals.install(on_signal)
    service.start(reading=True)
    log.info(
        "worker_started",
        queues=",".join(served),
        concurrency=settings.concurrency,
        lease_s=settings.worker_lease_s,
        namespace=settings.namespace,
    )
    while not stop.wait(0.5):
        fatal = service.consumer.fatal
        if isinstance(fatal, Exception):
            raise RedisAuthError(auth_message(fatal))
        if service.exit_requested.is_set():  # a job's thread ran past its timeout
            log.warning(
                "worker_exiting",
                reason="a run's thread ran past its timeout and cannot be stopped",
                note="exiting so the platform restarts this worker clean",
            )
            stop_at[0] = time.monotonic()
            stop.set()
    deadline = stop_at[0] + settings.grace_s
    reserve = fan_out.shutdown_reserve_s(settings.grace_s)
    handed_back = service.stop(deadline - reserve, force)
    if not force.is_set():
        fan_out.flush(deadline - time.monotonic())
    log.info("worker_stopped", handed_back=handed_back)
    return 0

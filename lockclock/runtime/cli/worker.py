"""`lockclock worker`: a worker process, running the runs the clocks enqueue."""

from __future__ import annotations

import os
import sys

import click

from ..worker_process import run_worker
from .base import load_clock, main, namespace_option, redis_url_option


@main.command()
@click.argument("target")
@click.option(
    "--queues",
    default=None,
    help="Comma-separated queues to consume.  [default: every queue TARGET's schedules use]",
)
@click.option(
    "--concurrency",
    default=None,
    type=click.IntRange(1, 1000),
    help="Runs at once.  [env var: LOCKCLOCK_CONCURRENCY; default: 4]",
)
@redis_url_option
@namespace_option
@click.option("--log-level", default=None, help="DEBUG, INFO, WARNING or ERROR.")
def worker(
    target: str,
    queues: str | None,
    concurrency: int | None,
    redis_url: str | None,
    namespace: str | None,
    log_level: str | None,
) -> None:
    """Run the jobs of TARGET (MODULE[:ATTR]) that clocks enqueue (dispatch="workers")."""
    clock = load_clock(target)
    names = [q.strip() for q in queues.split(",") if q.strip()] if queues else None
    code = run_worker(
        clock,
        {"redis_url": redis_url, "namespace": namespace, "log_level": log_level},
        queues=names,
        concurrency=concurrency,
    )
    sys.stdout.flush()
    os._exit(code)  # job threads that outlived the grace period must not hold the exit

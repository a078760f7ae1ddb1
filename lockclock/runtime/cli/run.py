"""`lockclock run`: a clock process."""

from __future__ import annotations

import os
import sys

import click

from ..process import run_clock
from .base import load_clock, main, namespace_option, redis_url_option


@main.command()
@click.argument("target")
@redis_url_option
@namespace_option
@click.option(
    "--log-level",
    default=None,
    help="DEBUG, INFO, WARNING or ERROR.  [env var: LOCKCLOCK_LOG_LEVEL]",
)
def run(target: str, redis_url: str | None, namespace: str | None, log_level: str | None) -> None:
    """Run a clock process for TARGET (MODULE[:ATTR]) until SIGTERM."""
    clock = load_clock(target)
    code = run_clock(
        clock, {"redis_url": redis_url, "namespace": namespace, "log_level": log_level}
    )
    sys.stdout.flush()
    os._exit(code)  # job threads that outlived the grace period must not hold the exit

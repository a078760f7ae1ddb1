"""The `lockclock` command's first lines: a process that will run a clock or a worker
takes charge of SIGTERM before anything heavy is imported (see signals.py)."""

from __future__ import annotations

import sys

from . import signals


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] in ("run", "worker"):
        signals.hold_early()
    from .cli import main as cli

    cli(prog_name="lockclock")

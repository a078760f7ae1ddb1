"""Redis commands per second with idle schedules: 1 vs 3 clocks, 1 vs 1,000 schedules.

Standbys never touch schedules and an idle active clock only renews its lease, so
the figure depends on the number of clocks, not of schedules.

    python bench/redis_work.py --runs 3
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

import _common  # noqa: F401  (puts the repository on sys.path)

from tests.system.test_scaling import commands_per_second


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    for clocks, schedules in ((1, 1), (1, 1000), (3, 1), (3, 1000)):
        rates = []
        for _ in range(args.runs):
            with tempfile.TemporaryDirectory() as tmp:
                rates.append(commands_per_second(Path(tmp), schedules=schedules, clocks=clocks))
        print(
            f"{clocks} clock(s), {schedules:>4} schedule(s): "
            f"median {statistics.median(rates):.1f} commands/s "
            f"(runs: {', '.join(f'{r:.1f}' for r in rates)})"
        )


if __name__ == "__main__":
    main()

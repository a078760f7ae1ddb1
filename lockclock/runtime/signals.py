"""Stop signals from the first moment of a process: a platform may send SIGTERM while
the app is still importing. Until the process's loop takes them over, SIGTERM and
SIGINT are only noted, so the loop starts already stopping and exits cleanly (0), not
killed by the default handler."""

from __future__ import annotations

import signal
from collections.abc import Callable
from types import FrameType

_received: list[int] = []


def _note(signum: int, _frame: FrameType | None) -> None:
    _received.append(signum)


def hold_early() -> None:
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _note)


def install(on_signal: Callable[[int, FrameType | None], None]) -> None:
    """Hand both signals to `on_signal`, replaying one that came before."""
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, on_signal)
    if _received:
        on_signal(_received[0], None)

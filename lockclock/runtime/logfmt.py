"""The process's log output: one logfmt line per event (`key=value`), readable in
`heroku logs`. Installed by `lockclock run` and `lockclock worker`, never by a clock
embedded in someone else's app. Tracebacks appear only for job failures, where the
user needs them.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Any

from ..logs import FIELDS_ATTR


def _quote(value: Any) -> str:
    text = "" if value is None else str(value)
    if text == "" or any(c in text for c in ' ="\\\n\t'):
        escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        return f'"{escaped}"'
    return text


class LogfmtFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        ts += f".{int(record.msecs):03d}Z"
        parts = [f"ts={ts}", f"level={record.levelname.lower()}"]
        fields: dict[str, Any] | None = getattr(record, FIELDS_ATTR, None)
        if fields is None:
            parts.append(f"msg={_quote(record.getMessage())}")
        else:
            parts.append(f"event={_quote(record.getMessage())}")
            parts += [f"{k}={_quote(v)}" for k, v in fields.items() if v is not None]
        line = " ".join(parts)
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def setup(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(LogfmtFormatter())
    root = logging.getLogger("lockclock")
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    root.propagate = False

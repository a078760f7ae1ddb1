"""One log line per event, logfmt style (`key=value`), readable in `heroku logs`.

Call `event(logger, "fire", schedule=..., fence=...)`; the formatter renders the
fields in the order given. Tracebacks only appear for job failures, where the
user needs them.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Any

_FIELDS = "lockclock_fields"


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
        fields: dict[str, Any] | None = getattr(record, _FIELDS, None)
        if fields is None:
            parts.append(f"msg={_quote(record.getMessage())}")
        else:
            parts.append(f"event={_quote(record.getMessage())}")
            parts += [f"{k}={_quote(v)}" for k, v in fields.items() if v is not None]
        line = " ".join(parts)
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def event(logger: logging.Logger, name: str, *, level: int = logging.INFO, **fields: Any) -> None:
    exc_info = fields.pop("exc_info", None)
    logger.log(level, name, extra={_FIELDS: fields}, exc_info=exc_info)


def setup(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(LogfmtFormatter())
    root = logging.getLogger("lockclock")
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    root.propagate = False

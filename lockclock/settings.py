"""Settings from arguments and the environment, validated with fixable messages.

Precedence: command-line flag, then `Clock(...)` argument, then environment
variable, then default. Explicit beats implicit.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from dataclasses import field as _field
from typing import Any

from .coordination.records import DispatchMode
from .errors import ConfigError
from .redact import redact_dsn
from .sentry.dsn import parse_dsn_setting

_NAMESPACE = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")


@dataclass(frozen=True, kw_only=True)
class Settings:
    redis_url: str | None  # None: the embedded development Redis
    namespace: str = "lockclock"
    lease_ttl_s: float = 2.0
    grace_s: float = 25.0
    history_limit: int = 500
    log_level: str = "INFO"
    # None: unset; "": turned off with Clock(sentry=False). Never in a repr: it is a key.
    sentry_dsn: str | None = _field(default=None, repr=False)
    wait_replicas: int = 0
    dispatch: DispatchMode = "inline"  # workers: the clock only enqueues
    worker_lease_s: float = 3.0  # a worker's lease on itself; its runs move on past it
    concurrency: int = 4  # runs a `lockclock worker` runs at once


# setting name -> (environment variable, parser, check, what a valid value looks like)
_SPEC: dict[str, tuple[str, Callable[[Any], Any], Any, str]] = {
    "redis_url": ("REDIS_URL", str, None, "a redis:// URL"),
    "namespace": ("LOCKCLOCK_NAMESPACE", str, _NAMESPACE.match, "1-64 of A-Z a-z 0-9 _ . -"),
    "lease_ttl_s": ("LOCKCLOCK_LEASE_TTL", float, lambda v: 0.5 <= v <= 300, "seconds, 0.5-300"),
    "grace_s": ("LOCKCLOCK_GRACE", float, lambda v: 0 <= v <= 3600, "seconds, 0-3600"),
    "history_limit": ("LOCKCLOCK_HISTORY", int, lambda v: 10 <= v <= 100_000, "10-100000"),
    "wait_replicas": ("LOCKCLOCK_WAIT_REPLICAS", int, lambda v: 0 <= v <= 10, "0-10"),
    "dispatch": (
        "LOCKCLOCK_DISPATCH",
        lambda v: str(v).strip().lower(),
        lambda v: v in ("inline", "workers"),
        "inline (the clock runs jobs) or workers (lockclock worker processes do)",
    ),
    "worker_lease_s": (
        "LOCKCLOCK_WORKER_LEASE",
        float,
        lambda v: 0.5 <= v <= 300,
        "seconds, 0.5-300",
    ),
    "concurrency": ("LOCKCLOCK_CONCURRENCY", int, lambda v: 1 <= v <= 1000, "1-1000"),
    "log_level": (
        "LOCKCLOCK_LOG_LEVEL",
        str,
        lambda v: v.upper() in ("DEBUG", "INFO", "WARNING", "ERROR"),
        "DEBUG, INFO, WARNING or ERROR",
    ),
    "sentry_dsn": (
        "SENTRY_DSN",
        parse_dsn_setting,
        None,
        "a Sentry DSN such as https://KEY@o0.ingest.sentry.io/0 (Project Settings > "
        "Client Keys), or False for no alerts",
    ),
}
# how a layer's key is spelled where users write it, when that differs
_ARG_NAMES = {"sentry_dsn": "sentry"}


def _shown(field: str, raw: Any) -> str:
    """The offending value for an error message; a DSN's keys are never shown."""
    if field == "sentry_dsn" and isinstance(raw, str):
        return repr(redact_dsn(raw))
    return repr(raw)


def resolve(
    *layers: Mapping[str, Any | None], environ: Mapping[str, str] | None = None
) -> Settings:
    """Merge layers (highest precedence first) over the environment and defaults."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for field, (var, parse, check, hint) in _SPEC.items():
        raw: Any = None
        source = ""
        for layer in layers:
            if layer.get(field) is not None:
                raw, source = layer[field], f"{_ARG_NAMES.get(field, field)}="
                break
        if raw is None and env.get(var):
            raw, source = env[var], f"{var}="
        if raw is None:
            continue
        try:
            value = parse(raw)
        except (TypeError, ValueError):
            raise ConfigError(f"invalid {source}{_shown(field, raw)}: expected {hint}") from None
        if check is not None and not check(value):
            raise ConfigError(f"invalid {source}{_shown(field, raw)}: expected {hint}")
        values[field] = value
    values.setdefault("redis_url", None)
    return Settings(**values)

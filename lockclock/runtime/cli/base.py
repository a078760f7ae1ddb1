"""The `lockclock` command group and what its commands share: loading the app, one-line
user errors, the common options, a connection for the operators' commands.

User errors (bad schedule, bad setting, unimportable module, refused credentials)
print one line on stderr and exit 2; no tracebacks.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any, NoReturn

import click

from ...app import Clock, default_clock
from ...coordination.failures import AUTH_ERRORS, TRANSIENT_ERRORS, auth_message
from ...coordination.store import Store
from ...errors import JobImportError, LockclockError
from ...settings import resolve
from ...version import __version__
from ..connection import connect
from ..embedded import running_embedded

EXIT_USER_ERROR = 2


def load_clock(target: str) -> Clock:
    """Import MODULE[:ATTR]; without ATTR, the default clock or the module's only Clock."""
    module_name, _, attr = target.partition(":")
    if not module_name:
        raise JobImportError(f"invalid target {target!r}: expected MODULE[:ATTR], e.g. app.clock")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except LockclockError:
        raise
    except BaseException as exc:
        if isinstance(exc, KeyboardInterrupt):
            raise
        detail = f"{type(exc).__name__}: {exc}".strip()
        raise JobImportError(
            f"cannot import {module_name!r}: {detail} (run from your app's directory, "
            "or fix the module)"
        ) from None
    if attr:
        obj = getattr(module, attr, None)
        if not isinstance(obj, Clock):
            raise JobImportError(
                f"{module_name}:{attr} is not a lockclock.Clock "
                f"(found {type(obj).__name__}); name the Clock object, e.g. {module_name}:clock"
            )
        return obj
    if default_clock.schedules:
        return default_clock
    clocks = [v for v in vars(module).values() if isinstance(v, Clock)]
    if len(clocks) == 1:
        return clocks[0]
    raise JobImportError(
        f"no schedules found in {module_name!r}: decorate functions with "
        "@lockclock.schedule(...), or name the clock as MODULE:ATTR"
    )


def fail(message: str) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(EXIT_USER_ERROR)


class _Group(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except AUTH_ERRORS as exc:
            fail(auth_message(exc))
        except LockclockError as exc:
            fail(str(exc))
        except TRANSIENT_ERRORS as exc:
            click.echo(f"error: Redis is unreachable ({exc}); check REDIS_URL", err=True)
            sys.exit(1)


# No envvar= on these: settings.resolve reads the environment itself, below the
# Clock(...) arguments, as the README promises (flag > Clock(...) > environment).
redis_url_option = click.option(
    "--redis-url", default=None,
    help="Redis to coordinate through.  [env var: REDIS_URL; unset: a local development Redis]",
)  # fmt: skip
namespace_option = click.option(
    "--namespace", default=None,
    help="Key prefix, so several apps can share one Redis.  "
    "[env var: LOCKCLOCK_NAMESPACE; default: lockclock]",
)  # fmt: skip


def operator_store(redis_url: str | None, namespace: str | None) -> tuple[Store, str]:
    """A store for the operators' commands, and the URL it uses. They send nothing to
    Sentry: a bad SENTRY_DSN must not hide them."""
    settings = resolve({"redis_url": redis_url, "namespace": namespace, "sentry_dsn": False})
    url = settings.redis_url or running_embedded()
    client = connect(url, socket_timeout=3.0, connect_timeout=3.0)
    client.ping()
    return Store(client, settings.namespace), url


@click.group(cls=_Group)
@click.version_option(__version__, prog_name="lockclock")
def main() -> None:
    """Cron-style schedules on redundant clocks: exactly one dispatch per tick."""

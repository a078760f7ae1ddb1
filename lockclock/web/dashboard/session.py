"""Signed cookies: the session a token buys, the one-shot flash message, and the CSRF
token derived from a session. Stateless (nothing in Redis), so any number of web
processes agree as long as they share the secret: LOCKCLOCK_SESSION_SECRET, else one
derived from the API token (or the read token) with HKDF-SHA256. Rotating the token
ends the sessions it bought: each carries a keyed fingerprint of it.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any, Literal, cast

SESSION_COOKIE = "lockclock_session"
FLASH_COOKIE = "lockclock_flash"
SESSION_TTL_S = 12 * 3600
FLASH_TTL_S = 60
Role = Literal["api", "read", "host"]  # host: the host app's `authorize` decides
_ROLES = ("api", "read", "host")
_SALT = b"lockclock dashboard v1"


@dataclass(frozen=True)
class SessionKeys:
    """One key per use, so a flash can never pass for a session or a CSRF token."""

    session: bytes
    csrf: bytes
    flash: bytes
    token: bytes
    shared: bool  # False: a random per-process secret (no secret and no token set)


def hkdf(ikm: bytes, info: bytes, salt: bytes = _SALT) -> bytes:
    """RFC 5869 HKDF-SHA256, one 32-byte block: extract, then expand with `info`."""
    prk = hmac.new(salt, ikm, hashlib.sha256).digest()
    return hmac.new(prk, info + b"\x01", hashlib.sha256).digest()


@functools.lru_cache(maxsize=8)
def derive_keys(secret: str | None, api_token: str | None, read_token: str | None) -> SessionKeys:
    """The keys of this configuration; the same in every process that has the same
    secret (or token). With neither, a random secret: sessions of this process only."""
    material: str | None = None
    if secret:
        material = "secret:" + secret
    elif api_token or read_token:
        material = f"token:{api_token or read_token}"
    ikm = material.encode() if material else secrets.token_bytes(32)
    return SessionKeys(
        session=hkdf(ikm, b"session"),
        csrf=hkdf(ikm, b"csrf"),
        flash=hkdf(ikm, b"flash"),
        token=hkdf(ikm, b"token fingerprint"),
        shared=material is not None,
    )


@dataclass(frozen=True, kw_only=True)
class Session:
    sid: str  # random: what the CSRF token is derived from
    role: Role
    exp: int  # epoch seconds
    fp: str = ""  # keyed fingerprint of the token that bought it


def fingerprint(keys: SessionKeys, token: str) -> str:
    return hmac.new(keys.token, token.encode(), hashlib.sha256).hexdigest()[:32]


def new_session(keys: SessionKeys, role: Role, token: str | None) -> Session:
    return Session(
        sid=secrets.token_urlsafe(16),
        role=role,
        exp=int(time.time()) + SESSION_TTL_S,
        fp=fingerprint(keys, token) if token else "",
    )


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def seal(key: bytes, doc: dict[str, Any]) -> str:
    """`v1.<payload>.<HMAC-SHA256 of it>`, base64url: cookie-safe, tamper-evident."""
    payload = _b64(json.dumps(doc, separators=(",", ":"), sort_keys=True).encode())
    mac = hmac.new(key, f"v1.{payload}".encode(), hashlib.sha256).digest()
    return f"v1.{payload}.{_b64(mac)}"


def unseal(key: bytes, value: str) -> dict[str, Any] | None:
    """The sealed document, or None when the value was not sealed with `key` or has
    expired (`exp`, epoch seconds)."""
    version, _, rest = value.partition(".")
    payload, _, mac = rest.partition(".")
    if version != "v1" or not payload or not mac:
        return None
    expected = hmac.new(key, f"v1.{payload}".encode(), hashlib.sha256).digest()
    try:
        if not hmac.compare_digest(_unb64(mac), expected):
            return None
        doc = json.loads(_unb64(payload))
    except (binascii.Error, ValueError):
        return None
    if not isinstance(doc, dict) or not isinstance(doc.get("exp"), int):
        return None
    return doc if doc["exp"] > time.time() else None


def encode_session(keys: SessionKeys, session: Session) -> str:
    doc = {"sid": session.sid, "role": session.role, "exp": session.exp, "fp": session.fp}
    return seal(keys.session, doc)


def decode_session(keys: SessionKeys, value: str) -> Session | None:
    doc = unseal(keys.session, value)
    if doc is None or doc.get("role") not in _ROLES or not isinstance(doc.get("sid"), str):
        return None
    return Session(
        sid=doc["sid"], role=cast(Role, doc["role"]), exp=doc["exp"], fp=str(doc.get("fp", ""))
    )


def csrf_token(keys: SessionKeys, session: Session) -> str:
    return _b64(hmac.new(keys.csrf, session.sid.encode(), hashlib.sha256).digest())


def csrf_ok(keys: SessionKeys, session: Session, given: str | None) -> bool:
    """Constant time; a missing token is as wrong as a forged one."""
    return hmac.compare_digest((given or "").encode(), csrf_token(keys, session).encode())


def seal_flash(keys: SessionKeys, kind: str, text: str) -> str:
    return seal(keys.flash, {"kind": kind, "text": text, "exp": int(time.time()) + FLASH_TTL_S})


def open_flash(keys: SessionKeys, value: str) -> tuple[str, str] | None:
    doc = unseal(keys.flash, value)
    if doc is None:
        return None
    return str(doc.get("kind", "ok")), str(doc.get("text", ""))


def cookie_header(name: str, value: str, *, path: str, max_age: int, secure: bool) -> str:
    """HttpOnly (no script reads it), SameSite=Strict (no other site's page sends it),
    scoped to the dashboard's path, Secure when the client came over https."""
    flags = f"; Path={path}; Max-Age={max_age}; HttpOnly; SameSite=Strict"
    return f"{name}={value}{flags}{'; Secure' if secure else ''}"


def read_cookies(header: str | None, name: str) -> list[str]:
    """Every value the client sent for `name` (one per path it has it for)."""
    found = []
    for part in (header or "").split(";"):
        key, sep, value = part.strip().partition("=")
        if sep and key == name:
            found.append(value.strip().strip('"'))
    return found

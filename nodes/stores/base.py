"""What every session store shares: aiohttp-session's storage interface, the transport, the errors it raises.

Stores return aiohttp-session `Session` objects built with `max_age=None`: each store enforces the idle
timeout itself (memory: expiry per entry, Redis: key TTL, cookie: Fernet timestamp), so the timeout
slides on reads too, not only on writes as aiohttp-session's own storages do.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import time
from typing import Any

from aiohttp import web
from aiohttp_session import AbstractStorage, Session

from nodes.transport import Transport

log = logging.getLogger("nodes.session")

# 128 random bits, url-safe base64 without padding: 22 characters.
SESSION_ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{22}")


class StoreUnavailable(Exception):
    """The session store cannot be reached now; the request gets a 503 and may be retried."""


class SessionTooLarge(Exception):
    """Saving this session would produce a reference the client cannot keep; the write is refused."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"session would take {size} bytes, over the {limit}-byte limit")
        self.size = size
        self.limit = limit


def new_session_id() -> str:
    return secrets.token_urlsafe(16)


def encode(session: Session) -> bytes:
    """The stored form of a session: what aiohttp-session stores, as compact JSON."""
    payload = {"created": session.created, "session": dict(session)}
    return json.dumps(payload, separators=(",", ":")).encode()


def decode(raw: bytes | str) -> dict[str, Any] | None:
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get("session"), dict) else None


def empty_session() -> Session:
    return Session(None, data=None, new=True, max_age=None)


class SessionStore(AbstractStorage):
    """Base for the three stores: the session reference goes through a `Transport`, not aiohttp-session's cookie."""

    name = "abstract"

    def __init__(self, transport: Transport, max_age: int) -> None:
        super().__init__(cookie_name=transport.cookie_name, max_age=None)
        self.transport = transport
        self.idle_timeout = max_age

    def load_cookie(self, request: web.Request) -> str | None:
        return self.transport.read(request)

    def session_id_from(self, request: web.Request) -> str | None:
        """A well-formed server-side session id from the client, or None (garbage is logged, never trusted)."""
        value = self.transport.read(request)
        if value is None:
            return None
        if SESSION_ID_PATTERN.fullmatch(value) is None:
            log.warning("ignoring a malformed session reference (%d characters)", len(value))
            return None
        return value

    async def discard(self, request: web.Request, session: Session) -> None:
        """Remove the server-side data of `session` (login rotates ids; logout ends sessions)."""

    async def ready(self) -> bool:
        """Whether the store can serve sessions right now (for /readyz)."""
        return True

    async def close(self) -> None:
        """Release connections at shutdown."""


class ServerSideStore(SessionStore):
    """A store that keeps session data on the server under a random id that the client holds."""

    async def load_session(self, request: web.Request) -> Session:
        session_id = self.session_id_from(request)
        if session_id is None:
            return empty_session()
        raw = await self.read(session_id)
        data = None if raw is None else decode(raw)
        if data is None:
            return empty_session()
        return Session(session_id, data=data, new=False, max_age=None)  # type: ignore[arg-type]

    async def save_session(self, request: web.Request, response: web.StreamResponse, session: Session) -> None:
        if session.empty:
            await self.discard(request, session)
            self.transport.clear(request, response)
            return
        session_id = session.identity or new_session_id()
        await self.write(session_id, encode(session))
        if session.identity is None or self.transport.uses_header(request):
            self.transport.send(request, response, session_id)

    async def discard(self, request: web.Request, session: Session) -> None:
        if session.identity is not None:
            await self.delete(str(session.identity))

    async def read(self, session_id: str) -> bytes | None:
        """The stored session, refreshing its idle timeout; None when absent or expired."""
        raise NotImplementedError

    async def write(self, session_id: str, payload: bytes) -> None:
        raise NotImplementedError

    async def delete(self, session_id: str) -> None:
        raise NotImplementedError


def now() -> float:
    return time.monotonic()

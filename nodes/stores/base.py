"""What every session store shares: aiohttp-session's storage interface, the transport, the errors it raises.

Stores return aiohttp-session `Session` objects built with `max_age=None`: each store enforces the idle
timeout itself (memory: expiry per entry, Redis: key TTL, cookie: Fernet timestamp), so the timeout
slides on reads too, not only on writes as aiohttp-session's own storages do.
"""

from __future__ import annotations

import asyncio
import enum
import json
import logging
import random
import re
import secrets
import time
from typing import Any

from aiohttp import web
from aiohttp_session import AbstractStorage, Session

from nodes.changes import CannotMerge, SessionReply, replay
from nodes.transport import Transport

log = logging.getLogger("nodes.session")

# 128 random bits, url-safe base64 without padding: 22 characters.
SESSION_ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{22}")
MAX_SAVE_ATTEMPTS = 100  # a save that loses this many races in a row answers 409


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
    payload = {"created": session.created, "indexed": getattr(session, "indexed_at", 0), "session": dict(session)}
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
    revocation_scope = "none"  # what POST /logout-all can reach: "all", "this node" or "this client"

    def __init__(self, transport: Transport, max_age: int) -> None:
        super().__init__(cookie_name=transport.cookie_name, max_age=None)
        self.transport = transport
        self.idle_timeout = max_age

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

    async def end_user_sessions(self, user: str) -> int:
        """End every session of `user` that this store can reach; returns how many it ended."""
        return 0

    async def ready(self) -> bool:
        """Whether the store can serve sessions right now (for /readyz)."""
        return True

    async def close(self) -> None:
        """Release connections at shutdown."""


class VersionedSession(Session):
    """A session that remembers which stored version it was read from, for compare-and-set saves."""

    def __init__(self, identity: str | None, data: dict[str, Any] | None, version: int) -> None:
        super().__init__(identity, data=data, new=identity is None, max_age=None)  # type: ignore[arg-type]
        self.version = version
        self.indexed_at = int(data.get("indexed", 0)) if data else 0  # when the user's index was last refreshed


class WriteOutcome(enum.Enum):
    STORED = "stored"
    CONFLICT = "conflict"  # someone saved since we read: re-read and re-apply
    GONE = "gone"  # expired, logged out or revoked meanwhile: never resurrect it


class SessionGone(Exception):
    """The session ended while this request was changing it; the client is told it has no session."""


class SessionConflict(Exception):
    """Concurrent writes kept winning, or this request's change no longer applies; the client gets a 409."""


class ServerSideStore(SessionStore):
    """A store that keeps session data on the server under a random id that the client holds.

    Stored form: `<version>:<json>`. With consistency `cas` a save succeeds only if the stored version is
    still the one this request read; otherwise the request's recorded changes are re-applied to the
    fresh copy and the save is tried again. With `last_write_wins` the save overwrites whatever is there,
    as aiohttp-session's own storages do.
    """

    def __init__(self, transport: Transport, max_age: int, consistency: str = "cas") -> None:
        super().__init__(transport, max_age)
        self.consistency = consistency
        self.conflicts = 0  # compare-and-set saves that lost a race and re-applied their change

    async def new_session(self) -> Session:
        return VersionedSession(None, None, 0)

    async def load_session(self, request: web.Request) -> Session:
        session_id = self.session_id_from(request)
        if session_id is None:
            return VersionedSession(None, None, 0)
        return await self._load(session_id) or VersionedSession(None, None, 0)

    async def _load(self, session_id: str) -> VersionedSession | None:
        stored = decode_versioned(await self.read(session_id))
        if stored is None:
            return None
        session = VersionedSession(session_id, stored[1], stored[0])
        if self._index_due(session):
            session.changed()  # a read-only session is re-saved now and then, to keep the user's index alive
        return session

    def _index_due(self, session: VersionedSession) -> bool:
        """Whether this save must refresh the user's index (its TTL is twice the idle timeout)."""
        return time.time() - session.indexed_at > self.idle_timeout / 2

    def _index_user(self, session: VersionedSession) -> str | None:
        """The user to re-index on this save, if due; marks the session as indexed now."""
        if "user" not in session or not self._index_due(session):
            return None
        session.indexed_at = int(time.time())
        return str(session["user"])

    async def save_session(self, request: web.Request, response: web.StreamResponse, session: Session) -> None:
        assert isinstance(session, VersionedSession)
        if session.empty:
            await self.discard(request, session)
            self.transport.clear(request, response)
            return
        if session.identity is None:
            session_id = new_session_id()
            user = self._index_user(session)
            await self.write(session_id, encode_versioned(1, session), user)
            self.transport.send(request, response, session_id)
            return
        session_id = str(session.identity)
        if self.consistency == "cas":
            await self._save_checked(request, response, session_id, session)
        else:
            user = self._index_user(session)
            await self.write(session_id, encode_versioned(session.version + 1, session), user)
        if self.transport.uses_header(request):
            self.transport.send(request, response, session_id)

    async def _save_checked(
        self, request: web.Request, response: web.StreamResponse, session_id: str, session: VersionedSession
    ) -> None:
        for attempt in range(MAX_SAVE_ATTEMPTS):
            user = self._index_user(session)
            payload = encode_versioned(session.version + 1, session)
            outcome = await self.compare_and_set(session_id, session.version, payload, user)
            if outcome is WriteOutcome.STORED:
                if attempt and isinstance(response, SessionReply):
                    response.rerender(session)
                return
            self.conflicts += 1
            fresh = None if outcome is WriteOutcome.GONE else await self._load(session_id)
            if fresh is None:
                raise SessionGone()
            try:
                replay(request, fresh)
            except CannotMerge as exc:
                raise SessionConflict(str(exc)) from None
            session = fresh
            await asyncio.sleep(random.uniform(0, min(0.02, 0.0005 * 2**attempt)))  # let the winner's peers go
        raise SessionConflict(f"the session kept changing: gave up after {MAX_SAVE_ATTEMPTS} attempts")

    async def discard(self, request: web.Request, session: Session) -> None:
        if session.identity is not None:
            await self.delete(str(session.identity))

    async def read(self, session_id: str) -> bytes | None:
        """The stored session, refreshing its idle timeout; None when absent or expired."""
        raise NotImplementedError

    async def write(self, session_id: str, payload: bytes, user: str | None = None) -> None:
        """Store `payload` and keep `session_id` in `user`'s index (for POST /logout-all)."""
        raise NotImplementedError

    async def compare_and_set(
        self, session_id: str, expected_version: int, payload: bytes, user: str | None = None
    ) -> WriteOutcome:
        """Write `payload` only if the stored version is still `expected_version`, atomically."""
        raise NotImplementedError

    async def delete(self, session_id: str) -> None:
        raise NotImplementedError


def encode_versioned(version: int, session: Session) -> bytes:
    return b"%d:%s" % (version, encode(session))


def decode_versioned(raw: bytes | None) -> tuple[int, dict[str, Any]] | None:
    if raw is None:
        return None
    version, _, body = raw.partition(b":")
    data = decode(body)
    if data is None or not version.isdigit():
        return None
    return int(version), data


def stored_version(raw: bytes) -> int:
    return int(raw.partition(b":")[0])


def now() -> float:
    return time.monotonic()

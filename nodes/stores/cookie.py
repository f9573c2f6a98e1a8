"""The whole session inside an encrypted cookie (or token): no server state, size-limited, not revocable.

aiohttp-session's EncryptedCookieStorage refuses a MultiFernet, so this store does the same job with
key rotation: the first key encrypts, every key decrypts, and a value made with an older key is
re-encrypted with the newest on the next write. The idle timeout lives in the Fernet timestamp: a value
older than the timeout is refused, and the touch policy (SESSION_TOUCH; by default once the value is a tenth of
the timeout old, at most a minute) says when an unchanged value is re-issued with a fresh one, so activity keeps the
session alive. A value the client could not keep (over 4,096 bytes) is refused with `SessionTooLarge` instead of
being silently dropped by the browser. With SESSION_COOKIE_DENYLIST=redis a logout also revokes the value on every
node (`nodes.stores.denylist`).
"""

from __future__ import annotations

import logging
import time
from typing import Self

from aiohttp import web
from aiohttp_session import Session
from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from nodes.contract.envconfig import Secret
from nodes.contract.names import COOKIE, COOKIE_LIMIT_BYTES, SAVE_ALWAYS
from nodes.settings import NodeSettings
from nodes.stores.base import SessionStore
from nodes.stores.encoding import decode, empty_session, encode
from nodes.stores.errors import SessionTooLarge
from nodes.transport import Transport

log = logging.getLogger("nodes.session")

# Browsers keep a cookie only while name, value and attributes fit in 4,096 bytes, and drop it without a word.
COOKIE_LIMIT = COOKIE_LIMIT_BYTES
LOADED = "_sessionlab_loaded"  # a loaded session's attribute: its stored form as read, to tell a touch from a write


class CookieStore(SessionStore):
    name = COOKIE
    revocation_scope = "this client"  # the other clients hold their sessions; they stay valid until they expire

    def __init__(self, transport: Transport, max_age: int, keys: tuple[Secret, ...]) -> None:
        super().__init__(transport, max_age)
        self._fernet = MultiFernet([Fernet(key.reveal()) for key in keys])

    @classmethod
    def from_settings(cls, settings: NodeSettings, transport: Transport) -> Self:
        return cls(transport, settings.max_age, settings.secrets)

    async def new_session(self) -> Session:
        return self._blank()

    async def load_session(self, request: web.Request) -> Session:
        token = self.transport.read(request)
        if token is None:
            return self._blank()
        self.counters.read(token)
        try:
            plain = self._fernet.decrypt(token.encode(), ttl=self.idle_timeout)
        except (InvalidToken, UnicodeEncodeError, ValueError, TypeError):
            if self._expired(token):
                self.counters.sessions_expired += 1
            log.warning("ignoring an invalid, expired or tampered session cookie (%d characters)", len(token))
            return self._blank()
        stored = decode(plain)
        if stored is None:
            log.warning("ignoring a session cookie whose content is not a session")
            return self._blank()
        data, migrated = self.life.schema.read(stored, self.counters)
        if data is None:  # a schema this node does not read: a new session, never an error
            return self._blank()
        session = Session(None, data=data, new=False, max_age=None)  # type: ignore[arg-type]
        session.schema_version = self.life.schema.version  # type: ignore[attr-defined]
        setattr(session, LOADED, plain)
        age = self._age(token)
        if migrated or self.life.touch.due(self.idle_timeout - age, self.idle_timeout):
            session.changed()  # slide the idle timeout: re-issue with a fresh timestamp on this response
        self.life.loaded(session)
        return session

    async def save_session(self, request: web.Request, response: web.StreamResponse, session: Session) -> None:
        if session.empty:
            self.transport.clear(request, response)
            return
        plain = encode(session)
        token = self._fernet.encrypt(plain).decode()
        size = len(token) + self.transport.cookie_overhead()
        if size > COOKIE_LIMIT:
            self.counters.cookie_too_large += 1
            log.warning(
                "refused to save a session of %d bytes (limit %d); the client keeps its last one", size, COOKIE_LIMIT
            )
            raise SessionTooLarge(size, COOKIE_LIMIT)
        if self.life.save != SAVE_ALWAYS and getattr(session, LOADED, None) == plain:
            self.counters.store_touches += 1  # the same session re-issued to slide its timeout: a touch
        else:
            self.counters.wrote(token)
        self.transport.send(request, response, token)

    async def discard(self, request: web.Request, session: Session) -> None:
        """Nothing to remove: the client holds the session, and the transport clears its copy."""

    async def end_user_sessions(self, user: str) -> int:
        """The user's other clients hold their own sessions: none of them is in reach."""
        return 0

    def _blank(self) -> Session:
        session = empty_session()
        session.schema_version = self.life.schema.version  # type: ignore[attr-defined]
        return session

    def _age(self, token: str) -> int:
        return int(time.time()) - self._fernet.extract_timestamp(token.encode())

    def _expired(self, token: str) -> bool:
        """Whether a refused value is one of ours that merely outlived the idle timeout (not tampered, not garbage)."""
        try:
            self._fernet.decrypt(token.encode())
        except (InvalidToken, UnicodeEncodeError, ValueError, TypeError):
            return False
        return True

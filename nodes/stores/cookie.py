"""The whole session inside an encrypted cookie (or token): no server state, size-limited, not revocable.

aiohttp-session's EncryptedCookieStorage refuses a MultiFernet, so this store does the same job with
key rotation: the first key encrypts, every key decrypts, and a value made with an older key is
re-encrypted with the newest on the next write. The idle timeout lives in the Fernet timestamp: a value
older than the timeout is refused, and one older than `refresh_after` is re-issued on the next request,
so activity keeps the session alive. A value the client could not keep (over 4,096 bytes) is refused with
`SessionTooLarge` instead of being silently dropped by the browser.
"""

from __future__ import annotations

import logging
import time
from typing import Self

from aiohttp import web
from aiohttp_session import Session
from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from nodes.contract.envconfig import Secret
from nodes.contract.names import COOKIE
from nodes.settings import NodeSettings
from nodes.stores.base import SessionStore
from nodes.stores.encoding import decode, empty_session, encode
from nodes.stores.errors import SessionTooLarge
from nodes.transport import Transport

log = logging.getLogger("nodes.session")

# Browsers keep a cookie only while name, value and attributes fit in 4,096 bytes, and drop it without a word.
COOKIE_LIMIT = 4096
MAX_REFRESH_INTERVAL = 60  # seconds; re-issue the value at most this long after it was made


class CookieStore(SessionStore):
    name = COOKIE
    revocation_scope = "this client"  # the other clients hold their sessions; they stay valid until they expire

    def __init__(self, transport: Transport, max_age: int, keys: tuple[Secret, ...]) -> None:
        super().__init__(transport, max_age)
        self._fernet = MultiFernet([Fernet(key.reveal()) for key in keys])
        self.refresh_after = min(MAX_REFRESH_INTERVAL, max_age // 10)

    @classmethod
    def from_settings(cls, settings: NodeSettings, transport: Transport) -> Self:
        return cls(transport, settings.max_age, settings.secrets)

    async def load_session(self, request: web.Request) -> Session:
        token = self.transport.read(request)
        if token is None:
            return empty_session()
        try:
            plain = self._fernet.decrypt(token.encode(), ttl=self.idle_timeout)
        except (InvalidToken, UnicodeEncodeError, ValueError, TypeError):
            log.warning("ignoring an invalid, expired or tampered session cookie (%d characters)", len(token))
            return empty_session()
        data = decode(plain)
        if data is None:
            log.warning("ignoring a session cookie whose content is not a session")
            return empty_session()
        session = Session(None, data=data, new=False, max_age=None)  # type: ignore[arg-type]
        if self._age(token) >= self.refresh_after:
            session.changed()  # slide the idle timeout: re-issue with a fresh timestamp on this response
        return session

    async def save_session(self, request: web.Request, response: web.StreamResponse, session: Session) -> None:
        if session.empty:
            self.transport.clear(request, response)
            return
        token = self._fernet.encrypt(encode(session)).decode()
        size = len(token) + self.transport.cookie_overhead()
        if size > COOKIE_LIMIT:
            log.warning(
                "refused to save a session of %d bytes (limit %d); the client keeps its last one", size, COOKIE_LIMIT
            )
            raise SessionTooLarge(size, COOKIE_LIMIT)
        self.transport.send(request, response, token)

    async def discard(self, request: web.Request, session: Session) -> None:
        """Nothing to remove: the client holds the session, and the transport clears its copy."""

    async def end_user_sessions(self, user: str) -> int:
        """The user's other clients hold their own sessions: none of them is in reach."""
        return 0

    def _age(self, token: str) -> int:
        return int(time.time()) - self._fernet.extract_timestamp(token.encode())

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
from redis.exceptions import RedisError

from nodes.contract.envconfig import Secret
from nodes.contract.names import COOKIE, COOKIE_LIMIT_BYTES, DENYLIST_REDIS, SAVE_ALWAYS
from nodes.settings import NodeSettings
from nodes.stores.base import SessionStore
from nodes.stores.denylist import SID_KEY, RedisDenylist, new_identity
from nodes.stores.encoding import decode, empty_session, encode
from nodes.stores.errors import SessionTooLarge
from nodes.stores.life import is_login
from nodes.stores.redis_client import connect
from nodes.transport import Transport

log = logging.getLogger("nodes.session")

# Browsers keep a cookie only while name, value and attributes fit in 4,096 bytes, and drop it without a word.
COOKIE_LIMIT = COOKIE_LIMIT_BYTES
LOADED = "_sessionlab_loaded"  # a loaded session's attribute: its stored form as read, to tell a touch from a write
LOADED_SID = "_sessionlab_sid"  # a loaded session's attribute: its deny-list id, kept through invalidate()


class CookieStore(SessionStore):
    name = COOKIE
    revocation_scope = "this client"  # the other clients hold their sessions; they stay valid until they expire

    def __init__(
        self, transport: Transport, max_age: int, keys: tuple[Secret, ...], denylist: RedisDenylist | None = None
    ) -> None:
        super().__init__(transport, max_age)
        self._fernet = MultiFernet([Fernet(key.reveal()) for key in keys])
        self.denylist = denylist
        if denylist is not None:
            self.revocation_scope = "all"  # a logout-all is checked by every node on every request

    @classmethod
    def from_settings(cls, settings: NodeSettings, transport: Transport) -> Self:
        denylist = None
        if settings.cookie_denylist == DENYLIST_REDIS:
            client = connect(settings.redis_url.reveal(), settings.redis_timeout, settings.redis_cluster)
            denylist = RedisDenylist(client, settings.max_age)
        return cls(transport, settings.max_age, settings.secrets, denylist)

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
        data, migrated = self.life.schema.read(stored, None if is_login(request) else self.counters)
        if data is None:  # a schema this node does not read: a new session, never an error
            return self._blank()
        if self.denylist is not None and await self.denylist.revoked(data["session"], data["session"].get("user")):
            self.counters.denylist_hits += 1
            return self._blank()
        session = Session(None, data=data, new=False, max_age=None)  # type: ignore[arg-type]
        session.schema_version = self.life.schema.version  # type: ignore[attr-defined]
        setattr(session, LOADED, plain)
        setattr(session, LOADED_SID, session.get(SID_KEY))
        age = self._age(token)
        if migrated or self.life.touch.due(self.idle_timeout - age, self.idle_timeout):
            session.changed()  # slide the idle timeout: re-issue with a fresh timestamp on this response
        self.life.loaded(session)
        return session

    async def save_session(self, request: web.Request, response: web.StreamResponse, session: Session) -> None:
        if session.empty:
            await self.discard(request, session)  # a logout: with a deny-list, revoked on every node
            self.transport.clear(request, response)
            return
        if self.denylist is not None and SID_KEY not in session:
            session.update(new_identity())  # a new session: revocable from now on
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
        """The client holds the session and the transport clears its copy; a deny-list also revokes the old value."""
        sid = getattr(session, LOADED_SID, None)
        if self.denylist is not None and sid is not None:
            await self.denylist.revoke(sid)

    async def end_user_sessions(self, user: str) -> int:
        """The user's other clients hold their own sessions: out of reach, unless a deny-list revokes them all."""
        if self.denylist is None:
            return 0
        await self.denylist.revoke_user(user)
        return 1  # this one at least; how many other clients hold one is not known

    async def ready(self) -> bool:
        if self.denylist is None:
            return True
        try:
            return bool(await self.denylist.client.ping())
        except (RedisError, OSError):
            return False

    async def close(self) -> None:
        if self.denylist is not None:
            await self.denylist.close()

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

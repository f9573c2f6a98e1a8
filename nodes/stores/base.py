"""The one interface every session store implements: aiohttp-session's storage plus what logout needs.

A store loads and saves sessions (aiohttp-session's `AbstractStorage`), carrying the client's reference
through a `Transport` instead of aiohttp-session's own cookie. Stores return sessions built with
`max_age=None`: each store enforces the idle timeout itself (memory: expiry per entry, Redis: key TTL,
cookie: Fernet timestamp), so the timeout can slide on reads too, as SESSION_TOUCH says (`nodes.stores.life`).

A new store is one module with a subclass of this class (or of `ServerSideStore`, for data kept on the
server under an id) and one entry in `nodes.stores.SESSION_STORES`.
"""

from __future__ import annotations

import abc
from typing import ClassVar, Self

from aiohttp import web
from aiohttp_session import AbstractStorage, Session

from nodes.contract.names import LAST_WRITE_WINS
from nodes.settings import NodeSettings
from nodes.stores.counters import SessionCounters
from nodes.stores.life import SessionLife
from nodes.transport import Transport


class SessionStore(AbstractStorage):
    """A session store; `load_session` and `save_session` come from aiohttp-session's interface."""

    name: ClassVar[str]  # its SESSION_STORE value, one of nodes.contract.names.STORES
    revocation_scope: str  # what POST /logout-all reaches: "all", "this node" or "this client"
    consistency = LAST_WRITE_WINS  # CAS when concurrent writes are detected and merged (see versions.py)
    life = SessionLife()  # touch, save, schema and padding policies (SESSION_TOUCH, ...): set by build_store

    def __init__(self, transport: Transport, max_age: int) -> None:
        super().__init__(cookie_name=transport.cookie_name, max_age=None)
        self.transport = transport
        self.idle_timeout = max_age
        self.counters = SessionCounters()  # reads, writes, touches and refusals, for GET NODE_SESSION_STATS_PATH

    @classmethod
    @abc.abstractmethod
    def from_settings(cls, settings: NodeSettings, transport: Transport) -> Self:
        """The store a node with `settings` runs (the registry calls this)."""

    @abc.abstractmethod
    async def discard(self, request: web.Request, session: Session) -> None:
        """Remove the server-side data of `session` (login rotates ids; logout ends sessions)."""

    @abc.abstractmethod
    async def end_user_sessions(self, user: str) -> int:
        """End every session of `user` that this store can reach; returns how many it ended."""

    async def ready(self) -> bool:
        """Whether the store can serve sessions right now (for /readyz)."""
        return True

    async def start_problem(self) -> str | None:
        """Why the store does not answer at start-up (one warning line; the node starts anyway), or None."""
        return None

    async def close(self) -> None:
        """Release connections at shutdown."""

"""Node-local sessions, like a classic Tomcat session: fast, invisible to other nodes, gone with the process.

Entries are serialized copies (so the store behaves like Redis: no shared mutable objects), bounded in
number with the least recently used evicted first, and never served once idle past the timeout.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import Self

from nodes.contract.names import CAS, MEMORY
from nodes.settings import NodeSettings
from nodes.stores.encoding import stored_version
from nodes.stores.server_side import ServerSideStore
from nodes.stores.versions import WriteOutcome
from nodes.transport import Transport

now = time.monotonic  # one name to read the clock by, so a test can move time


class MemoryStore(ServerSideStore):
    name = MEMORY
    revocation_scope = "this node"  # other nodes' memory holds the user's other sessions, out of reach

    def __init__(self, transport: Transport, max_age: int, max_entries: int, consistency: str = CAS) -> None:
        super().__init__(transport, max_age, consistency)
        self.max_entries = max_entries
        # session id -> (expires at, payload); order = least recently used first = soonest to expire first.
        self._entries: OrderedDict[str, tuple[float, bytes]] = OrderedDict()
        # user -> ids of sessions created here (some may be gone); tuples: most users have one or two sessions,
        # and a 1-tuple takes a quarter of a 1-set's memory (100k sessions must fit in 100 MB).
        self._by_user: dict[str, tuple[str, ...]] = {}

    @classmethod
    def from_settings(cls, settings: NodeSettings, transport: Transport) -> Self:
        return cls(transport, settings.max_age, settings.memory_max, settings.consistency)

    def __len__(self) -> int:
        return len(self._entries)

    async def read(self, session_id: str) -> bytes | None:
        """The payload; its idle timeout slides when the touch policy says so (SESSION_TOUCH)."""
        entry = self._live(session_id)
        if entry is None:
            return None
        expires_at, payload = entry
        current = now()
        if self.life.touch.due(expires_at - current, self.idle_timeout):
            self._entries[session_id] = (current + self.idle_timeout, payload)
            self._entries.move_to_end(session_id)
            self.counters.store_touches += 1
        return payload

    def _live(self, session_id: str) -> tuple[float, bytes] | None:
        """The entry unless it expired (an expired one is dropped and counted)."""
        entry = self._entries.get(session_id)
        if entry is not None and entry[0] <= now():
            del self._entries[session_id]
            self.counters.sessions_expired += 1
            return None
        return entry

    async def write(self, session_id: str, payload: bytes, user: str | None = None) -> None:
        self._entries[session_id] = (now() + self.idle_timeout, payload)
        self._entries.move_to_end(session_id)
        if user is not None and session_id not in self._by_user.get(user, ()):
            live = tuple(other for other in self._by_user.get(user, ()) if other in self._entries)
            self._by_user[user] = (*live, session_id)
        self._evict()

    async def end_user_sessions(self, user: str) -> int:
        ended = [session_id for session_id in self._by_user.pop(user, ()) if session_id in self._entries]
        for session_id in ended:
            del self._entries[session_id]
        return len(ended)

    async def compare_and_set(
        self, session_id: str, expected_version: int, payload: bytes, user: str | None = None
    ) -> WriteOutcome:
        current = self._live(session_id)  # nothing below awaits anything: atomic within this process
        if current is None:
            return WriteOutcome.GONE
        if stored_version(current[1]) != expected_version:
            return WriteOutcome.CONFLICT
        await self.write(session_id, payload, user)
        return WriteOutcome.STORED

    async def delete(self, session_id: str) -> None:
        self._entries.pop(session_id, None)

    def _evict(self) -> None:
        """Drop expired entries from the cold end, then the least recently used beyond the bound."""
        current = now()
        while self._entries:
            oldest_id, (expires_at, _) = next(iter(self._entries.items()))
            if expires_at > current and len(self._entries) <= self.max_entries:
                break
            del self._entries[oldest_id]

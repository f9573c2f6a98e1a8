"""Stores that keep session data on the server under a random id the client holds (memory, Redis, ...).

Stored form: `<version>:<json>`. With consistency `cas` a save succeeds only if the stored version is still
the one this request read; otherwise nothing is written and `StaleVersion` is raised (the handler layer
re-applies the request's changes to a fresh copy from `reload` and saves again). With `last_write_wins`
the save overwrites whatever is there, as aiohttp-session's own storages do.

A subclass implements five primitives on raw payloads: `read`, `write`, `compare_and_set`, `delete` and
`end_user_sessions`; ids, versions and the user index are handled here.
"""

from __future__ import annotations

import abc

from aiohttp import web
from aiohttp_session import Session

from nodes.contract.names import CAS
from nodes.stores.base import SessionStore
from nodes.stores.encoding import decode_versioned, encode_versioned
from nodes.stores.errors import SessionGone, StaleVersion
from nodes.stores.group_commit import defer
from nodes.stores.handoff import commit_pending, handoff_of
from nodes.stores.ids import new_session_id, session_id_from
from nodes.stores.life import is_login
from nodes.stores.user_index import index_due, user_to_index
from nodes.stores.versions import VersionedSession, WriteOutcome
from nodes.transport import Transport


class ServerSideStore(SessionStore):
    """Session data on the server, under an id minted here; versions make compare-and-set saves possible."""

    def __init__(self, transport: Transport, max_age: int, consistency: str = CAS) -> None:
        super().__init__(transport, max_age)
        self.consistency = consistency

    async def new_session(self) -> Session:
        return self._blank()

    async def load_session(self, request: web.Request) -> Session:
        session = await self._load(request)
        if not session.new:
            self.life.loaded(session)
        return session

    async def _load(self, request: web.Request) -> VersionedSession:
        session_id = session_id_from(self.transport, request)
        if session_id is None:
            return self._blank()
        slot = handoff_of(request)
        batch = slot.pending(session_id) if slot else None
        if batch is not None:  # writes queued before this one left their changes unsaved: build on them
            return batch.successor()
        handed = slot.take(session_id) if slot else None
        if handed is not None:  # the write before this one in the queue saved it: no need to read it back
            return self._session(session_id, handed) or self._blank()
        return await self.reload(session_id, replaced=is_login(request)) or self._blank()

    async def reload(self, session_id: str, replaced: bool = False) -> VersionedSession | None:
        """The stored session and its version, or None when it does not exist (any more) or cannot be read.

        `replaced`: read by a login only to be discarded, so a schema it cannot read is not counted twice."""
        raw = await self.read(session_id)
        self.counters.read(raw)
        return self._session(session_id, raw, replaced)

    def _blank(self) -> VersionedSession:
        session = VersionedSession.blank()
        session.schema_version = self.life.schema.version
        return session

    def _session(self, session_id: str, raw: bytes | None, replaced: bool = False) -> VersionedSession | None:
        stored = decode_versioned(raw)
        if stored is None:
            return None
        data, migrated = self.life.schema.read(stored[1], None if replaced else self.counters)
        if data is None:  # a schema this node does not read: a new session, never an error
            return None
        session = VersionedSession(session_id, data, stored[0])
        session.schema_version = self.life.schema.version
        if migrated or (self.life.touch.slides and index_due(session, self.idle_timeout)):
            # Re-saved: in this node's schema, or to keep the user's index alive (it outlives the session's last
            # write by a whole timeout, so only sessions that reads keep alive need this)
            session.changed()
        return session

    async def save_session(self, request: web.Request, response: web.StreamResponse, session: Session) -> None:
        assert isinstance(session, VersionedSession)
        if session.empty:
            await self.discard(request, session)
            self.transport.clear(request, response)
        elif session.identity is None:
            await self._create(request, response, session)
        else:
            await self._update(request, response, str(session.identity), session)
            if self.transport.uses_header(request):
                self.transport.send(request, response, str(session.identity))

    async def _create(self, request: web.Request, response: web.StreamResponse, session: VersionedSession) -> None:
        session_id = new_session_id()
        user = user_to_index(session, self.idle_timeout)
        payload = encode_versioned(1, session)
        await self.write(session_id, payload, user)
        self.counters.wrote(payload)
        self.transport.send(request, response, session_id)

    async def _update(
        self, request: web.Request, response: web.StreamResponse, session_id: str, session: VersionedSession
    ) -> None:
        user = user_to_index(session, self.idle_timeout)
        if self.consistency != CAS:
            payload = encode_versioned(session.version + 1, session)
            await self.write(session_id, payload, user)
            self.counters.wrote(payload)
            return
        outcome = await self._compare_and_set(request, session_id, session, user)
        if outcome is WriteOutcome.GONE:
            raise SessionGone()
        if outcome is WriteOutcome.CONFLICT:
            raise StaleVersion(session_id, response)

    async def _compare_and_set(
        self, request: web.Request, session_id: str, session: VersionedSession, user: str | None
    ) -> WriteOutcome:
        """Save alone, or as part of the queue's batch (`nodes.stores.group_commit`): deferred counts as stored."""
        slot = handoff_of(request)
        if slot is not None and (slot.queued or slot.pending(session_id)):
            batch = slot.join(session_id, session, user, self.counted_compare_and_set)
            if slot.queued and not batch.full:  # others wait for the lock: the next one carries this change on
                defer(request, batch)
                return WriteOutcome.STORED
            return await slot.commit(batch)
        payload = encode_versioned(session.version + 1, session)
        outcome = await self.counted_compare_and_set(session_id, session.version, payload, user)
        if outcome is WriteOutcome.STORED and slot is not None:
            slot.offer(session_id, payload)
        return outcome

    async def counted_compare_and_set(
        self, session_id: str, expected_version: int, payload: bytes, user: str | None = None
    ) -> WriteOutcome:
        """`compare_and_set`, counted as a store write whatever its outcome (it costs one all the same)."""
        self.counters.wrote(payload)
        return await self.compare_and_set(session_id, expected_version, payload, user)

    async def discard(self, request: web.Request, session: Session) -> None:
        if session.identity is not None:
            await commit_pending(request)  # changes queued before a login or logout are stored first
            await self.delete(str(session.identity))

    @abc.abstractmethod
    async def read(self, session_id: str) -> bytes | None:
        """The stored payload, refreshing its idle timeout; None when absent or expired."""

    @abc.abstractmethod
    async def write(self, session_id: str, payload: bytes, user: str | None = None) -> None:
        """Store `payload` and, when `user` is given, keep `session_id` in that user's index."""

    @abc.abstractmethod
    async def compare_and_set(
        self, session_id: str, expected_version: int, payload: bytes, user: str | None = None
    ) -> WriteOutcome:
        """Write `payload` only if the stored version is still `expected_version`, atomically."""

    @abc.abstractmethod
    async def delete(self, session_id: str) -> None:
        """Forget the session (a missing one is not an error)."""

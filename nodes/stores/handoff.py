"""A queued write to one session starts from the copy the write before it left, instead of reading it back.

`nodes.writes.one_writer_per_session` runs one changing request per session at a time on a node, and gives
each queue one slot. Without a hand-off, the next request in that queue reads back (for Redis: a GETEX round
trip) the payload the previous one has just written; with it, a burst of writes to one hot session costs no
read. The slot also holds the changes not saved yet (`nodes.stores.group_commit`): while others wait, a write
leaves its change there and the next one builds on it. It stays correct across nodes because only
compare-and-set stores queue: if another node saved meanwhile, the copy's version is stale, the save is refused
and the merge re-reads. The slot lives only while requests queue for the session, so nothing outlives the burst.
"""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from nodes.stores.group_commit import Batch, CompareAndSet
from nodes.stores.versions import VersionedSession, WriteOutcome

HANDOFF = "sessionlab.handoff"  # the request key under which the write queue puts the session's slot


@dataclass
class Handoff:
    """One session's queue slot: the last payload saved (taken at most once) and the batch not saved yet."""

    session_id: str | None = None
    payload: bytes | None = None
    queued: int = 0  # requests waiting for the session's lock: while any do, a write leaves its change to them
    batch: Batch | None = None

    def offer(self, session_id: str, payload: bytes) -> None:
        self.session_id, self.payload = session_id, payload

    def take(self, session_id: str) -> bytes | None:
        if self.session_id != session_id:
            return None
        payload, self.session_id, self.payload = self.payload, None, None
        return payload

    def pending(self, session_id: str) -> Batch | None:
        """The batch of unsaved changes to `session_id` that the next write builds on, if any."""
        batch = self.batch
        return batch if batch is not None and batch.open and batch.session_id == session_id else None

    def join(self, session_id: str, session: VersionedSession, user: str | None, cas: CompareAndSet) -> Batch:
        """Add `session`'s change to the batch it was built on (a new one if none): it stays in the slot."""
        batch = self.pending(session_id)
        if batch is None or batch.base_version != session.version:
            batch = Batch(session_id, session.version, cas)
        batch.add(session, user)
        self.batch = batch
        return batch

    async def commit(self, batch: Batch) -> WriteOutcome:
        """Store `batch` (it leaves the slot); once stored, its payload is handed to the next write."""
        if self.batch is batch:
            self.batch = None
        batch.commit()  # unless a waiting member already started it
        outcome = await batch.outcome()
        if outcome is WriteOutcome.STORED:
            self.offer(batch.session_id, batch.payload)
        return outcome

    async def commit_pending(self) -> None:
        """Store the batch left in the slot, if any (before a logout, or when the last writer leaves the lock)."""
        if self.batch is not None:
            await self.commit(self.batch)


def handoff_of(request: web.Request) -> Handoff | None:
    slot = request.get(HANDOFF)
    return slot if isinstance(slot, Handoff) else None


async def commit_pending(request: web.Request) -> None:
    """Store the changes queued before this request (before it ends sessions, so they count first)."""
    slot = handoff_of(request)
    if slot is not None:
        await slot.commit_pending()

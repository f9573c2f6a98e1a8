"""A queued write to one session starts from the copy the write before it saved, instead of reading it back.

`nodes.writes.one_writer_per_session` runs one changing request per session at a time on a node. Without a
hand-off, the next request in that queue reads back (for Redis: a GETEX round trip) the payload the previous
one has just written; with it, a burst of writes to one hot session costs one round trip each (the
compare-and-set) instead of two. It stays correct across nodes because only compare-and-set stores queue: if
another node saved meanwhile, the handed copy's version is stale, the save is refused and the merge re-reads.
The slot lives only while requests queue for the session, so nothing outlives the burst.
"""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

HANDOFF = "sessionlab.handoff"  # the request key under which the write queue puts the session's slot


@dataclass
class Handoff:
    """The last payload saved for one session by a request of this queue; taken at most once."""

    session_id: str | None = None
    payload: bytes | None = None

    def offer(self, session_id: str, payload: bytes) -> None:
        self.session_id, self.payload = session_id, payload

    def take(self, session_id: str) -> bytes | None:
        if self.session_id != session_id:
            return None
        payload, self.session_id, self.payload = self.payload, None, None
        return payload


def handoff_of(request: web.Request) -> Handoff | None:
    slot = request.get(HANDOFF)
    return slot if isinstance(slot, Handoff) else None

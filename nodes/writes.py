"""How a node writes one session safely under concurrency: a per-session queue, then merge on conflict.

Both wrap aiohttp-session's middleware (they see the store's save): `one_writer_per_session` outermost,
`merge_on_conflict` inside it. A store with consistency `cas` refuses a save whose version is stale
(`StaleVersion`); the merge re-applies this request's recorded changes (`nodes.changes`) to a fresh copy,
saves again and re-renders the answer, so the client sees the value that was actually stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from dataclasses import dataclass, field

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from nodes.changes import SessionConflict, SessionReply, replay
from nodes.stores.errors import SessionGone, StaleVersion, StoreUnavailable
from nodes.stores.group_commit import deferred
from nodes.stores.handoff import HANDOFF, Handoff
from nodes.stores.server_side import ServerSideStore
from nodes.stores.versions import WriteOutcome

READ_ONLY = frozenset(("GET", "HEAD", "OPTIONS"))
MAX_SAVE_ATTEMPTS = 100  # a save that loses this many races in a row answers 409


@dataclass
class ConflictCount:
    """Compare-and-set saves that lost a race and re-applied their change (a figure for tests and metrics)."""

    value: int = 0


def one_writer_per_session(store: ServerSideStore, conflicts: ConflictCount) -> Middleware:
    """Within this node, let one changing request per session run at a time.

    Compare-and-set keeps concurrent writes correct across nodes; queueing same-session writes here makes them
    cheap too: without it, a burst of parallel writes on one node loses most CAS races and retries with backoff.
    Each queue carries a slot (`nodes.stores.handoff`): the next write starts from the copy the last one saved,
    or from the changes the writes before it left unsaved, and one compare-and-set stores them all
    (`nodes.stores.group_commit`); a deferred write answers once that is done.
    """
    queues: dict[str, SessionQueue] = {}

    @web.middleware
    async def serialize(request: web.Request, handler: Handler) -> web.StreamResponse:
        reference = None if request.method in READ_ONLY else store.transport.read(request)
        if reference is None:
            return await handler(request)
        entry = queues.get(reference)
        if entry is None:
            entry = queues[reference] = SessionQueue()
        request[HANDOFF] = entry.slot
        entry.holders += 1
        try:
            response = await _in_turn(request, handler, entry.lock, entry.slot)
            return await _settled(request, response, store, conflicts)
        finally:
            entry.holders -= 1
            if not entry.holders:  # only live requests keep an entry: the map stays small
                del queues[reference]

    return serialize


@dataclass
class SessionQueue:
    """One session's write queue on this node: its lock, its slot, and how many live requests keep it."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    slot: Handoff = field(default_factory=Handoff)
    holders: int = 0


async def _in_turn(request: web.Request, handler: Handler, lock: asyncio.Lock, slot: Handoff) -> web.StreamResponse:
    """Run `handler` holding the session's lock. The last one out commits what the queue left unsaved."""
    slot.queued += 1
    try:
        await lock.acquire()
    finally:
        slot.queued -= 1
    try:
        return await handler(request)
    finally:
        try:
            if not slot.queued:
                with contextlib.suppress(StoreUnavailable):  # its members answer 503 themselves
                    await slot.commit_pending()
        finally:
            lock.release()


async def _settled(
    request: web.Request, response: web.StreamResponse, store: ServerSideStore, conflicts: ConflictCount
) -> web.StreamResponse:
    """A deferred write's answer, once its batch is stored; after a conflict it merges alone, like a lone write."""
    batch = deferred(request)
    if batch is None:
        return response
    outcome = await batch.outcome()
    if outcome is WriteOutcome.GONE:
        raise SessionGone()
    if outcome is WriteOutcome.CONFLICT:
        del request[HANDOFF]  # out of the queue now: its save goes straight to the store
        return await _save_merged(request, store, StaleVersion(batch.session_id, response), conflicts)
    return response


def merge_on_conflict(store: ServerSideStore, conflicts: ConflictCount) -> Middleware:
    """Turn a stale-version save into re-read, re-apply, save again; the answer is re-rendered from the result."""

    @web.middleware
    async def merge(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except StaleVersion as stale:
            return await _save_merged(request, store, stale, conflicts)

    return merge


async def _save_merged(
    request: web.Request, store: ServerSideStore, stale: StaleVersion, conflicts: ConflictCount
) -> web.StreamResponse:
    for attempt in range(MAX_SAVE_ATTEMPTS):
        conflicts.value += 1
        await asyncio.sleep(random.uniform(0, min(0.02, 0.0005 * 2**attempt)))  # let the winner's peers go first
        fresh = await store.reload(stale.session_id)
        if fresh is None:
            raise SessionGone()
        replay(request, fresh)
        try:
            await store.save_session(request, stale.response, fresh)
        except StaleVersion:
            continue
        if isinstance(stale.response, SessionReply):
            stale.response.rerender(fresh)
        return stale.response
    raise SessionConflict(f"the session kept changing: gave up after {MAX_SAVE_ATTEMPTS} attempts")

"""Group commit: queued writes to one session share one compare-and-set instead of sending one each.

`nodes.writes.one_writer_per_session` runs one changing request per session at a time on a node. When a write is
done while others wait behind it, it does not save: it leaves its changed session in the queue's slot as a
`Batch` (with the version it was read at), releases the lock and waits for the batch's outcome. The next write
starts from that unsaved session, adds its change and defers again, or commits: one compare-and-set from the
base version carrying every change of the batch. No member answers before the batch is stored, so every answer
is durable and shows the state right after its own change (queue order). A conflict (another node saved
meanwhile) sends each member back to its own merge: compare-and-set keeps it correct, the batch only saves work.

A batch not committed within `SELF_COMMIT_AFTER` of its start (the write after its members is slow, or left)
is committed by a timer; a write that had built on it then conflicts and merges. A commit that does not finish
within `STUCK_AFTER` fails its members with `StoreUnavailable` (a 503): nobody waits forever.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from aiohttp import web

from nodes.stores.encoding import encode_versioned, stored_form
from nodes.stores.errors import StoreUnavailable
from nodes.stores.versions import VersionedSession, WriteOutcome

CompareAndSet = Callable[[str, int, bytes, str | None], Awaitable[WriteOutcome]]
DEFERRED = "sessionlab.deferred"  # the request key of the batch a deferred write waits for
SELF_COMMIT_AFTER = 1.0  # seconds after its start a batch nobody committed is committed by a timer
STUCK_AFTER = 10.0  # seconds a started commit may take before its members answer 503
MAX_MEMBERS = 64  # a batch this large commits even if more writes wait: a steady stream must not starve it


class Batch:
    """Changes of queued writes to one session, made one after the other on a copy read at `base_version`.

    Cheap per member (a batch of two must cost less than two compare-and-sets): one timer, one task and one
    future per batch; a member only awaits the future.
    """

    def __init__(self, session_id: str, base_version: int, cas: CompareAndSet) -> None:
        self.session_id = session_id
        self.base_version = base_version
        self.payload = b""  # what the commit stores, once it started
        self.members = 0
        self._cas = cas
        self._session: VersionedSession | None = None
        self._user: str | None = None
        loop = asyncio.get_running_loop()
        self._done: asyncio.Future[WriteOutcome] = loop.create_future()
        self._timer = loop.call_later(SELF_COMMIT_AFTER, self.commit)  # nobody committed it in time: do it now
        self._commit: asyncio.Task[WriteOutcome] | None = None

    @property
    def open(self) -> bool:
        """Whether a write may still add its change (the commit has not started)."""
        return self._commit is None

    @property
    def full(self) -> bool:
        return self.members >= MAX_MEMBERS

    def add(self, session: VersionedSession, user: str | None) -> None:
        """`session` was built on the batch's state, so it carries every change so far: it becomes the state."""
        assert self.open, "a change added to a batch already committed would be lost"
        self._session, self._user = session, user or self._user
        self.members += 1

    def successor(self) -> VersionedSession:
        """A copy of the unsaved state for the next write. Shallow: changes replace values, never mutate them."""
        state = self._session
        assert state is not None
        successor = VersionedSession(self.session_id, stored_form(state), self.base_version)
        successor.schema_version = state.schema_version
        return successor

    def commit(self) -> None:
        """Start the batch's one compare-and-set, once; a task, so a cancelled caller strands no member."""
        if self._commit is None and self._session is not None:
            self._timer.cancel()
            self.payload = encode_versioned(self.base_version + 1, self._session)
            self._commit = asyncio.ensure_future(self._store())
            self._commit.add_done_callback(self._settle)

    async def outcome(self) -> WriteOutcome:
        """The commit's outcome, or StoreUnavailable (a 503) if the store failed or took too long."""
        return await asyncio.shield(self._done)  # shielded: one cancelled member does not cancel the others

    async def _store(self) -> WriteOutcome:
        try:
            return await asyncio.wait_for(
                self._cas(self.session_id, self.base_version, self.payload, self._user), STUCK_AFTER
            )
        except TimeoutError:
            raise StoreUnavailable("a group commit did not finish in time") from None

    def _settle(self, commit: asyncio.Task[WriteOutcome]) -> None:
        if commit.cancelled():  # the loop is shutting down
            self._done.set_exception(StoreUnavailable("a group commit was cancelled"))
        elif (error := commit.exception()) is not None:
            self._done.set_exception(error)
        else:
            self._done.set_result(commit.result())


def defer(request: web.Request, batch: Batch) -> None:
    """Mark `request` as a member of `batch`: its answer waits for the batch's outcome."""
    request[DEFERRED] = batch


def deferred(request: web.Request) -> Batch | None:
    """The batch `request` waits for, taken once (a merge after it saves on its own)."""
    batch = request.pop(DEFERRED, None)
    return batch if isinstance(batch, Batch) else None

"""Sessions in every node's memory, copied to peers (Tomcat clustering): SESSION_STORE=replicated.

Like `memory`, but each node's copies are kept in step with its peers' by nodes/stores/replication: a node
change or a crash loses nothing that reached a peer. The versioned `<version>:<json>` form is the same as the
other server-side stores'; compare-and-set is decided by the session's primary, so `cas` holds across nodes.
"""

from __future__ import annotations

import time
from typing import Self

from nodes.contract.names import CAS, REPLICATED_STORE
from nodes.settings import NodeSettings
from nodes.stores.replication.build import build_replicator
from nodes.stores.replication.replicator import Replicator
from nodes.stores.replication.table import CONFLICT, STORED
from nodes.stores.server_side import ServerSideStore
from nodes.stores.versions import WriteOutcome
from nodes.transport import Transport

OUTCOMES = {STORED: WriteOutcome.STORED, CONFLICT: WriteOutcome.CONFLICT}


class ReplicatedStore(ServerSideStore):
    name = REPLICATED_STORE
    revocation_scope = "all"  # logout-all reaches every live node

    def __init__(self, transport: Transport, max_age: int, replicator: Replicator, consistency: str = CAS) -> None:
        super().__init__(transport, max_age, consistency)
        self.replicator = replicator

    @classmethod
    def from_settings(cls, settings: NodeSettings, transport: Transport) -> Self:
        return cls(transport, settings.max_age, build_replicator(settings), settings.consistency)

    async def read(self, session_id: str) -> bytes | None:
        """This node's copy slides as SESSION_TOUCH says (a peer's copy slides with the next write)."""
        held = self.replicator.table.get(session_id, slide=False)
        slide = held is None or self.life.touch.due(held.expires_at - time.time(), self.idle_timeout)
        raw = await self.replicator.read(session_id, slide)
        self.counters.store_touches += raw is not None and slide
        return raw

    async def write(self, session_id: str, payload: bytes, user: str | None = None) -> None:
        await self.replicator.write(session_id, payload, user)

    async def compare_and_set(
        self, session_id: str, expected_version: int, payload: bytes, user: str | None = None
    ) -> WriteOutcome:
        outcome = await self.replicator.compare_and_set(session_id, expected_version, payload, user)
        return OUTCOMES.get(outcome, WriteOutcome.GONE)

    async def delete(self, session_id: str) -> None:
        await self.replicator.delete(session_id)

    async def end_user_sessions(self, user: str) -> int:
        return await self.replicator.end_user(user)

    async def ready(self) -> bool:
        """Ready once the start-up pull finished or its bound passed."""
        return self.replicator.ready

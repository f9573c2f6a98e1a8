"""The replicated session table of one node: who owns a session, how writes, reads and deletions travel.

Scope (SESSION_REPLICATION): `all` (Tomcat's DeltaManager) copies every session to every live peer; `backup`
(BackupManager) keeps a session on its primary and one backup, the first two live members in rendezvous-hash
order for its id, and a node that is neither asks them when a request brings the session. What such a node fetched
stays as a cache that later writes never reach, so an owner trusts its own copy only once it knew it current in
the present membership view (`Entry.confirmed_in`); after a change it asks the other owners once (`_refresh`).

Compare-and-set across nodes: every versioned write of an existing session is decided by the session's primary
(the first live member in hash order), so two nodes cannot both turn version 7 into two different version 8s.
The primary applies it locally and replicates it; a write made elsewhere is forwarded to it (one round trip)
and the answer carries the stored copy, which the writer keeps. With last_write_wins each node writes its own
copy and replicates it (Tomcat's behaviour: the last copy to arrive wins).
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from nodes.stores.errors import StoreUnavailable
from nodes.stores.replication.client import Failure, PeerClient
from nodes.stores.replication.delivery import Delivery
from nodes.stores.replication.peers import Membership, Peer, rank
from nodes.stores.replication.stats import ReplicationStats
from nodes.stores.replication.table import CONFLICT, GONE, STORED, Entry, ReplicaTable
from nodes.stores.replication.wire import Delete, EndUser, Op, Put, Refused, decode_entry, encode_op

log = logging.getLogger("nodes.stores.replication")

MISSING = "missing"  # a forwarded write reached a primary that never had the session (it joined meanwhile)


class Replicator:
    """One node's side of session replication; the store and the peer endpoints both go through it."""

    def __init__(
        self, node_id: str, scope: str, table: ReplicaTable, membership: Membership, client: PeerClient, mode: str
    ) -> None:
        self.node_id = node_id
        self.scope = scope
        self.table = table
        self.membership = membership
        self.client = client
        self.stats = ReplicationStats()
        self.delivery = Delivery(node_id, client, self.stats, mode, self.left_out)
        self.ready = False
        self.departures: list[str] = []  # node ids that were just left out, for the liveness loop to rebalance

    def owners(self, session_id: str, members: list[str] | None = None) -> list[str]:
        """[primary, backup] (backup scope) or every live member, primary first (all scope)."""
        ranked = rank(session_id, self.membership.members() if members is None else members)
        return ranked if self.scope == "all" else ranked[:2]

    def targets(self, session_id: str, exclude: str | None = None) -> list[Peer]:
        ids = [owner for owner in self.owners(session_id) if owner not in (self.node_id, exclude)]
        return [peer for peer in map(self.membership.by_id, ids) if peer is not None]

    def left_out(self, peer: Peer, reason: str) -> None:
        if self.membership.failed(peer, reason) and peer.node_id:
            self.departures.append(peer.node_id)

    async def replicate(self, ops: list[Op], targets: list[Peer], within: float | None = None) -> None:
        await self.delivery.deliver(ops, targets, within)

    async def copy_to_owners(self, session_id: str, ops: list[Op], exclude: str | None = None,
                             within: float | None = None) -> None:  # fmt: skip
        """Send `ops` to the session's owners (but `exclude`); in sync mode, until the owners hold them.

        A target that fails is left out, which can make another node an owner (backup scope: the next in hash
        order becomes the backup). That node must get the write too, or it would serve its older copy as its
        own; so the owners are computed again and the new ones are sent to, within the same time budget.
        """
        deadline = time.monotonic() + (self.client.timeout if within is None else within)
        sent: set[str] = set()
        while True:
            targets = [peer for peer in self.targets(session_id, exclude) if peer.url not in sent]
            left = deadline - time.monotonic()
            if not targets or left <= 0:
                return
            await self.replicate(ops, targets, left)
            if self.delivery.mode == "async":  # queued: a peer that fails later is re-synced when it returns
                return
            sent.update(peer.url for peer in targets)

    # --- the store's side -------------------------------------------------------------------------------------

    async def read(self, session_id: str, slide: bool = True) -> bytes | None:
        entry = self.table.get(session_id, slide)
        if self.scope == "all":
            return entry.payload if entry else None
        owners = self.owners(session_id)
        mine = self.node_id in owners
        if mine and entry is not None and entry.confirmed_in != self.membership.view:
            await self._refresh(session_id, owners)  # made an owner by a membership change: ours may be a stale cache
            entry = self.table.get(session_id, slide=False)
        if self.table.is_deleted(session_id) or (mine and entry is not None):
            return entry.payload if entry else None
        fetched = await self._fetch(session_id, [owner for owner in owners if owner != self.node_id])
        if fetched == MISSING:
            if not mine:
                self.table.forget(session_id)
            return None
        if isinstance(fetched, Entry):
            self.table.apply(session_id, fetched)
            entry = self.table.get(session_id, slide=False) or fetched
        return entry.payload if entry else None  # owners unreachable: the copy cached here, if any

    async def write(self, session_id: str, payload: bytes, user: str | None) -> None:
        """An unconditional write (a new session, or last_write_wins): stored here, copied to its targets."""
        self.stats.writes += 1
        entry = self.table.write(session_id, payload, user)
        entry.confirmed_in = self.membership.view
        await self.copy_to_owners(session_id, [Put(session_id, entry)])

    async def compare_and_set(self, session_id: str, expected: int, payload: bytes, user: str | None) -> str:
        """Decided by the session's primary: here, or forwarded to it (re-routed if it does not answer)."""
        self.stats.writes += 1
        for _ in range(len(self.membership.peers()) + 1):
            primary = self.owners(session_id)[0]
            peer = self.membership.by_id(primary) if primary != self.node_id else None
            if peer is None:
                return await self.decide(session_id, expected, payload, user, origin=None)
            outcome = await self._forward(peer, session_id, expected, payload, user)
            if outcome is not None:
                return outcome
        return await self.decide(session_id, expected, payload, user, origin=None)

    async def delete(self, session_id: str) -> None:
        self.stats.writes += 1
        targets = self.targets(session_id) if self.scope == "backup" else self.membership.live()
        self.table.delete(session_id)
        await self.replicate([Delete(session_id)], targets)

    async def end_user(self, user: str) -> int:
        """Every node ends the user's sessions it holds (in backup scope no node holds them all)."""
        self.stats.writes += 1
        ended = self.table.end_user(user)
        await self.replicate([EndUser(user)], self.membership.live())
        return len(ended)

    # --- the primary's side -----------------------------------------------------------------------------------

    async def decide(self, session_id: str, expected: int, payload: bytes, user: str | None, origin: str | None) -> str:
        """Compare-and-set on this node's copy; a stored write is replicated to every target but its origin."""
        held = self.table.get(session_id, slide=False)
        if held is None and not self.table.is_deleted(session_id) and origin is not None:
            return MISSING
        if self.scope == "backup" and held is not None and held.confirmed_in != self.membership.view:
            # a forwarded write answers its origin within its timeout: the refresh gets a quarter, the copies half
            bound = None if origin is None else self.client.timeout / 4
            await self._refresh(session_id, self.owners(session_id), bound)
        outcome = self.table.compare_and_set(session_id, expected, payload, user)
        if outcome == STORED:
            entry = self.table.get(session_id, slide=False)
            assert entry is not None
            entry.confirmed_in = self.membership.view
            # A forwarded write answers its origin within the origin's timeout: its own copies get half of it.
            within = None if origin is None else self.client.timeout / 2
            await self.copy_to_owners(session_id, [Put(session_id, entry)], exclude=origin, within=within)
        return outcome

    def apply(self, ops: list[Op]) -> int:
        changed = 0
        for op in ops:
            if isinstance(op, Put):
                changed += self.table.apply(op.session_id, op.entry)
                self._confirm(op.session_id, op.entry.version)  # a peer sends to the owners it sees
            elif isinstance(op, Delete):
                changed += self.table.delete(op.session_id)
            else:
                changed += len(self.table.end_user(op.user))
        self.stats.applied += changed
        return changed

    # --- talking to owners ------------------------------------------------------------------------------------

    async def _forward(
        self, peer: Peer, session_id: str, expected: int, payload: bytes, user: str | None
    ) -> str | None:
        """The primary's outcome; None when it was unreachable (left out: the write goes to the next in line).

        A primary that took the write but did not answer in time may have stored it: redoing it elsewhere could
        apply the change twice, so the request fails with a 503 instead (as a Redis timeout does), and the
        primary is left out for the next writes.
        """
        self.stats.forwarded += 1
        request: dict[str, Any] = {"from": self.node_id, "id": session_id, "expected": expected,
                                   "payload": payload.decode(), "user": user}  # fmt: skip
        answer = await self._post_json(peer, "cas", request)
        if isinstance(answer, dict) and answer.get("outcome") == MISSING:
            base = self.table.get(session_id, slide=False)
            request["base"] = encode_op(Put(session_id, base)) if base else None
            answer = await self._post_json(peer, "cas", request)
        if isinstance(answer, dict) and answer.get("outcome") in (STORED, CONFLICT, GONE):
            self._keep_answer(session_id, answer)
            return str(answer["outcome"])
        self.stats.failed_sends += 1
        self.left_out(peer, f"a forwarded write failed: {getattr(answer, 'value', 'a bad answer')}")
        if answer is Failure.UNREACHABLE:
            return None
        raise StoreUnavailable(f"the session's primary {peer.node_id} did not answer in time")

    def _keep_answer(self, session_id: str, answer: dict[str, Any]) -> None:
        """Keep the primary's copy (stored, or the newer one that won); forget ours when it is gone."""
        if answer["outcome"] == GONE:
            self.table.forget(session_id)
            return
        try:
            entry = decode_entry(answer.get("entry") or {})
        except Refused:
            return
        self.table.apply(session_id, entry)
        self._confirm(session_id, entry.version)  # the primary sends its copies to every owner but the origin

    async def _refresh(self, session_id: str, owners: list[str], within: float | None = None) -> None:
        """Backup scope: an owner's copy not confirmed since the membership last changed may be a cache it kept as a
        non-owner, which the writes since then never reached; the other owners' copies are asked (at least one of
        them held the session before the change), the newest is kept and confirmed. Without an answer, ours stands.
        """
        fetched = await self._fetch(session_id, [owner for owner in owners if owner != self.node_id], within)
        if isinstance(fetched, Entry):
            self.table.apply(session_id, fetched)
        if fetched is not None:
            self._confirm(session_id, 0)

    def _confirm(self, session_id: str, version: int) -> None:
        """Our copy, if at least `version`, is an owner's current one in this membership view."""
        held = self.table.get(session_id, slide=False)
        if held is not None and held.version >= version:
            held.confirmed_in = self.membership.view

    async def _fetch(self, session_id: str, owners: list[str], within: float | None = None) -> Entry | str | None:
        """The session from its owners: an Entry, MISSING when they answered without it, None when none answered.
        An owner that fails a fetch is left out, except within a bound shorter than the timeout (`within`)."""
        answered = False
        for owner in owners:
            peer = self.membership.by_id(owner)
            if peer is None:
                continue
            self.stats.fetches += 1
            answer = await self.client.get(peer, f"session/{session_id}", within)
            if answer is None:
                if within is None:
                    self.left_out(peer, "a session fetch failed or timed out")
                continue
            answered = True
            if answer.get("entry"):
                try:
                    return decode_entry(answer["entry"])
                except Refused:
                    continue
        return MISSING if answered else None

    async def _post_json(self, peer: Peer, name: str, request: dict[str, Any]) -> dict[str, Any] | Failure:
        body = json.dumps(request, separators=(",", ":")).encode()
        self.stats.sent(len(body))
        return await self.client.exchange(peer, "POST", name, body)

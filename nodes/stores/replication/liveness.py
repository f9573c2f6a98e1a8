"""Keeping the membership true and every copy complete: heartbeats, the start-up pull, re-syncs, rebalancing.

- Heartbeat: every SESSION_HEARTBEAT_INTERVAL each peer is pinged (bounded by SESSION_REPLICATION_TIMEOUT). A
  peer that misses two heartbeats in a row, or fails a send, is left out of ownership and sends; one that
  answers again is live again and gets a re-sync.
- Re-sync: when a peer (re)joins, each session it should hold is pushed to it by exactly one node, the first
  in hash order among the other members, with the ids deleted meanwhile (a peer that was SIGSTOPped comes back
  with old copies: newer versions replace them, tombstones end what was logged out).
- Rebalance (backup scope): when a member leaves, the new primary of each session it owned pushes the session
  to the session's new backup, so every session has two copies again.
- Start-up pull: before /readyz says ready, a new node pulls the sessions from a ready peer (all scope: one
  peer; backup scope: every ready peer, keeping the sessions it owns). The pull is bounded by
  SESSION_STARTUP_PULL_TIMEOUT; past it the node is ready anyway, logs why and counts it
  (`startup_pull_timeouts`); the peers' re-sync pushes fill in what the pull missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import defaultdict
from typing import Any

from nodes.stores.replication.peers import Peer, rank
from nodes.stores.replication.replicator import Replicator
from nodes.stores.replication.wire import Delete, Op, Put, Refused, decode_ops, encode_message

PULL_MARGIN = 0.5  # a peer's snapshot request is bounded past the pull's own bound, which cancels it first

log = logging.getLogger("nodes.stores.replication")

CHUNK = 1000  # ops per re-sync message
# A live peer is left out after this many heartbeats in a row go unanswered (a failed send leaves it out at once):
# one slow answer on a busy machine must not move every session's primary.
MISSED_BEATS = 2


class Liveness:
    """The background side of replication; `run` is one task for the node's lifetime."""

    def __init__(self, replicator: Replicator, interval: float, pull_timeout: float) -> None:
        self.replicator = replicator
        self.interval = interval
        self.pull_timeout = pull_timeout
        self._wake = asyncio.Event()
        self._pushes: set[asyncio.Task[None]] = set()

    def poke(self) -> None:
        """Beat now (a peer we do not know yet just pinged us)."""
        self._wake.set()

    async def run(self) -> None:
        await self.startup_pull()
        while True:
            await self.beat()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.interval)
            self._wake.clear()

    async def close(self) -> None:
        for task in list(self._pushes):
            task.cancel()
        await asyncio.gather(*self._pushes, return_exceptions=True)

    async def beat(self) -> None:
        membership = self.replicator.membership
        await membership.refresh()
        await asyncio.gather(*(self._ping(peer) for peer in membership.peers()))
        self._rebalance()

    async def _ping(self, peer: Peer) -> None:
        replicator = self.replicator
        answer = await replicator.client.get(peer, f"ping?from={replicator.node_id}")
        node = answer.get("node") if answer else None
        if not isinstance(node, str) or answer is None:
            replicator.stats.heartbeats_failed += peer.live
            if not peer.live or peer.missed_beats >= MISSED_BEATS - 1:
                replicator.left_out(peer, f"{MISSED_BEATS} heartbeats unanswered")
            peer.missed_beats += 1
            return
        peer.missed_beats = 0
        if replicator.membership.answered(peer, node, bool(answer.get("ready"))):
            self._spawn(self.resync(peer))

    # --- re-sync and rebalance --------------------------------------------------------------------------------

    async def resync(self, peer: Peer) -> None:
        """Push to a (re)joined peer what it should hold and we are first in line to give."""
        replicator, node = self.replicator, peer.node_id
        others = [member for member in replicator.membership.members() if member != node]
        if node is None or not others:
            return

        def mine_to_give(session_id: str) -> bool:
            return rank(session_id, others)[0] == replicator.node_id and node in replicator.owners(session_id)

        ops: list[Op] = [Put(sid, entry) for sid, entry in replicator.table.items() if mine_to_give(sid)]
        ops += [Delete(sid) for sid, _ in replicator.table.tombstones() if mine_to_give(sid)]
        await self.push(peer, ops)

    def _rebalance(self) -> None:
        replicator = self.replicator
        departed, replicator.departures = replicator.departures, []
        if replicator.scope != "backup" or not departed:
            return
        before = [*replicator.membership.members(), *departed]
        pushes: dict[str, list[Op]] = defaultdict(list)
        for session_id, entry in replicator.table.items():
            now, then = replicator.owners(session_id), replicator.owners(session_id, before)
            if now[0] == replicator.node_id and set(then) & set(departed):
                for owner in now[1:]:
                    pushes[owner].append(Put(session_id, entry))
        for owner, ops in pushes.items():
            peer = replicator.membership.by_id(owner)
            if peer is not None:
                self._spawn(self.push(peer, ops))

    async def push(self, peer: Peer, ops: list[Op]) -> None:
        replicator = self.replicator
        for start in range(0, len(ops), CHUNK):
            body = encode_message(replicator.node_id, ops[start : start + CHUNK])
            replicator.stats.resync_messages += 1
            replicator.stats.resync_bytes += len(body)
            if await replicator.client.post(peer, "apply", body, within=self.pull_timeout) is None:
                replicator.left_out(peer, "a re-sync push failed")
                return

    def _spawn(self, work: Any) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._pushes.add(task)
        task.add_done_callback(self._pushes.discard)

    # --- start-up pull ----------------------------------------------------------------------------------------

    async def startup_pull(self) -> None:
        stats, began = self.replicator.stats, time.monotonic()
        try:
            await asyncio.wait_for(self._pull(), self.pull_timeout)
        except TimeoutError:
            stats.startup_pull, stats.startup_pull_timeouts = "timed-out", stats.startup_pull_timeouts + 1
            held = len(self.replicator.table)
            log.warning("start-up pull unfinished after %.1fs (SESSION_STARTUP_PULL_TIMEOUT): ready anyway with "
                        "%d sessions; peers' re-sync pushes bring the rest", self.pull_timeout, held)  # fmt: skip
        finally:
            stats.startup_pull_seconds = round(time.monotonic() - began, 3)
            self.replicator.ready = True

    async def _pull(self) -> None:
        replicator = self.replicator
        await replicator.membership.refresh()
        await asyncio.gather(*(self._ping(peer) for peer in replicator.membership.peers()))
        sources = [peer for peer in replicator.membership.live() if peer.ready]
        if not sources:
            replicator.stats.startup_pull = "first-node"
            log.info("start-up pull: no ready peer answered; starting with no sessions")
            return
        for peer in sources:
            # The whole pull is bounded by startup_pull's wait_for; a peer's own bound a little past it, so that a
            # stalled peer ends the pull as timed out (ready anyway) rather than racing it to "left out, pulled".
            answer = await replicator.client.get(peer, "snapshot", within=self.pull_timeout + PULL_MARGIN)
            if answer is None:
                replicator.left_out(peer, "the start-up pull failed")
                continue
            self._keep_snapshot(peer, answer)
            if replicator.scope == "all":
                break
        replicator.stats.startup_pull = "pulled"

    def _keep_snapshot(self, peer: Peer, answer: dict[str, Any]) -> None:
        replicator = self.replicator
        try:
            ops = decode_ops(answer)
        except Refused as exc:
            log.warning("start-up pull from %s: unusable snapshot (%s)", peer.url, exc.reason)
            return
        if replicator.scope == "backup":
            node = replicator.node_id
            ops = [op for op in ops if not isinstance(op, Put) or node in replicator.owners(op.session_id)]
        replicator.apply(ops)
        replicator.stats.startup_pull_sessions = len(replicator.table)
        log.info("start-up pull: %d sessions from %s (%s)", len(replicator.table), peer.node_id, peer.url)

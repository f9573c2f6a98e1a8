"""How a write's replication ops reach their target peers: `sync` waits (bounded), `async` queues per peer.

sync: one signed message per target, all sent at once; the write returns when every target acknowledged or
the replication timeout passed, whichever comes first. A target that failed or timed out is left out of the
membership until it answers a heartbeat again (and is then re-synced), so it never slows a second write.

async: the ops go into the target's queue and the write returns at once; one sender task per peer sends what
has queued up as one batched message, so under load several writes share a message. A failed batch leaves the
peer out and drops its queue (the re-sync on its return carries the current state, not the history).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable

from nodes.stores.replication.client import PeerClient
from nodes.stores.replication.peers import Peer
from nodes.stores.replication.stats import ReplicationStats
from nodes.stores.replication.wire import Op, encode_message

log = logging.getLogger("nodes.stores.replication")

MAX_BATCH = 500  # ops per async message
MAX_QUEUE = 50_000  # ops per peer; beyond it the peer is treated as failed and re-synced later

OnFailure = Callable[[Peer, str], None]


class Delivery:
    """Sends replication ops to peers, synchronously or through per-peer queues."""

    def __init__(
        self, node_id: str, client: PeerClient, stats: ReplicationStats, mode: str, on_failure: OnFailure
    ) -> None:
        self.node_id = node_id
        self.client = client
        self.stats = stats
        self.mode = mode
        self.on_failure = on_failure
        self._queues: dict[str, PeerQueue] = {}

    async def deliver(self, ops: list[Op], targets: list[Peer], within: float | None = None) -> None:
        if not targets:
            return
        if self.mode == "async":
            for peer in targets:
                self._queue(peer).put(ops)
            return
        body = encode_message(self.node_id, ops)
        await asyncio.gather(*(self.send(peer, body, within) for peer in targets))

    async def send(self, peer: Peer, body: bytes, within: float | None = None) -> bool:
        """One signed apply message to `peer`; False (and the peer left out) when it did not acknowledge."""
        self.stats.sent(len(body))
        if await self.client.post(peer, "apply", body, within) is not None:
            return True
        self.stats.failed_sends += 1
        self.on_failure(peer, "a replication send failed or timed out")
        return False

    def queued(self) -> int:
        return sum(len(queue) for queue in self._queues.values())

    def _queue(self, peer: Peer) -> PeerQueue:
        queue = self._queues.get(peer.url)
        if queue is None or queue.peer is not peer:
            queue = self._queues[peer.url] = PeerQueue(peer, self)
        return queue

    async def close(self) -> None:
        for queue in self._queues.values():
            await queue.close()


class PeerQueue:
    """Ops waiting for one peer, and the task that sends them in batches."""

    def __init__(self, peer: Peer, delivery: Delivery) -> None:
        self.peer = peer
        self.delivery = delivery
        self._ops: deque[tuple[float, Op]] = deque()
        self._wake = asyncio.Event()
        self._task = asyncio.get_running_loop().create_task(self._run(), name=f"replicate-to-{peer.url}")

    def __len__(self) -> int:
        return len(self._ops)

    def put(self, ops: list[Op]) -> None:
        if len(self._ops) + len(ops) > MAX_QUEUE:
            self._drop("its replication queue overflowed")
            return
        now = time.monotonic()
        self._ops.extend((now, op) for op in ops)
        self._wake.set()

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._ops:
                await self._send_batch()

    async def _send_batch(self) -> None:
        batch = [self._ops.popleft() for _ in range(min(MAX_BATCH, len(self._ops)))]
        delivery = self.delivery
        if await delivery.send(self.peer, encode_message(delivery.node_id, [op for _, op in batch])):
            delivery.stats.lag((time.monotonic() - batch[0][0]) * 1000)
        else:
            delivery.stats.dropped += len(batch)
            self._drop("")

    def _drop(self, reason: str) -> None:
        self.delivery.stats.dropped += len(self._ops)
        self._ops.clear()
        if reason:
            self.delivery.on_failure(self.peer, reason)

    async def close(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

"""Automatic pipelining: the Redis commands a node's requests issue in one event-loop turn travel together.

Under load many requests wait on Redis at once. Sent one by one, each command costs a socket write, a read, an
event-loop wake-up and redis.asyncio's per-command bookkeeping (pool checkout, retry and timeout wrappers) on
both sides; that, not the round trip, is most of what a Redis-backed session costs on one core. Here commands
issued in the same turn are queued and sent at the end of it as one non-transactional pipeline: one write, one
read, one pool checkout for the whole batch; each caller gets its own reply (or its own error). Identical reads
(`GETEX` of one hot session with one TTL) in one batch are sent once and share the reply: they were concurrent,
so one execution answers both correctly.

Latency does not grow: a batch leaves at the end of the turn that filled it, never waiting for more commands.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Coroutine
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from nodes.stores.redis_lane import RETRIED, Command, lane_for

Batch = list[tuple[Command, list[asyncio.Future[Any]]]]

SHARED_READS = frozenset({"GETEX", "GET", "SMEMBERS", "PING"})


class AutoPipeline:
    """Queue commands for the end of the current event-loop turn, then send them as one pipeline."""

    def __init__(self, client: aioredis.Redis) -> None:
        self.client = client
        self.lane = lane_for(client)  # a plain TCP Redis: batches skip redis.asyncio (`nodes.stores.redis_lane`)
        self._pending: list[tuple[Command, list[asyncio.Future[Any]]]] = []
        self._reads: dict[Command, list[asyncio.Future[Any]]] = {}
        self._in_flight: set[asyncio.Future[Any]] = set()
        self.batches = 0
        self.commands = 0

    def execute(self, *command: Any) -> asyncio.Future[Any]:
        """A future for `command`'s reply; the command goes out with the others issued in this turn."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()  # one per caller: a cancelled caller cancels only its own
        if command[0] in SHARED_READS and (waiters := self._reads.get(command)) is not None:
            waiters.append(future)
            return future
        if not self._pending:
            loop.call_soon(self._flush)
        self._pending.append((command, [future]))
        if command[0] in SHARED_READS:
            self._reads[command] = self._pending[-1][1]
        return future

    def _flush(self) -> None:
        batch, self._pending, self._reads = self._pending, [], {}
        self.batches += 1
        self.commands += len(batch)
        sent = self.lane.send_now([command for command, _ in batch]) if self.lane is not None else None
        if sent is None:
            self._spawn(self._send(batch))
            return
        self._in_flight.add(sent)
        sent.add_done_callback(functools.partial(self._settle, batch))

    def _settle(self, batch: Batch, sent: asyncio.Future[list[Any]]) -> None:
        """A batch written straight to the lane's open connection (no task, no coroutine: 3 µs less per batch
        with Redis on another CPU, where batches are small) is answered here; a lost connection sends it once more."""
        self._in_flight.discard(sent)
        error = RETRIED[0]("the batch was cancelled") if sent.cancelled() else sent.exception()
        if isinstance(error, RETRIED):
            self._spawn(self._send(batch, retries=0))
        elif error is not None:
            for _, waiters in batch:
                _answer(waiters, error)
        else:
            for (_, waiters), reply in zip(batch, sent.result(), strict=True):
                _answer(waiters, reply)

    def _spawn(self, sending: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(sending)
        self._in_flight.add(task)  # keep a reference until it is done (the loop only keeps weak ones)
        task.add_done_callback(self._in_flight.discard)

    async def _send(self, batch: Batch, retries: int = 1) -> None:
        try:
            replies = await self._replies([command for command, _ in batch], retries)
        except BaseException as exc:  # the connection failed: every command of the batch failed with it
            for _, waiters in batch:
                _answer(waiters, exc)
            if not isinstance(exc, Exception):
                raise
            return
        for (_, waiters), reply in zip(batch, replies, strict=True):
            _answer(waiters, reply)

    async def _replies(self, commands: list[Command], retries: int) -> list[Any]:
        """Through the lane when there is one; else one command alone as itself, several as one pipeline."""
        if self.lane is not None:
            return await self.lane.exchange(commands, retries)
        if len(commands) == 1:
            try:
                return [await self.client.execute_command(*commands[0])]  # type: ignore[no-untyped-call]
            except ResponseError as exc:  # the command's own error (e.g. NOSCRIPT), not the connection's
                return [exc]
        pipe = self.client.pipeline(transaction=False)
        for command in commands:
            pipe.execute_command(*command)
        return list(await pipe.execute(raise_on_error=False))

    async def close(self) -> None:
        """Let batches already sent finish (their callers are still waiting for them)."""
        if self._in_flight:
            await asyncio.gather(*self._in_flight, return_exceptions=True)
        if self.lane is not None:
            self.lane.close()


def _answer(waiters: list[asyncio.Future[Any]], reply: Any) -> None:
    for future in waiters:
        if future.done():  # its request was cancelled meanwhile
            continue
        if isinstance(reply, BaseException):
            future.set_exception(reply)
        else:
            future.set_result(reply)

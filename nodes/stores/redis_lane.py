"""One pipelined connection for the automatic pipeline's batches: RESP packed and parsed in C, no per-batch Python.

Profiled under wrk (50 clients, a session per client cycled, Redis on the node's CPU), a batch sent through
redis.asyncio cost the node about 25 µs of CPU per read beyond the command itself: a pool checkout behind an
asyncio lock with its observability counters, a readiness probe of the socket, a task for `wait_for` around the
write, a `Pipeline` object, a timeout context per reply and a retry wrapper — and its short-lived timer and task
objects made the collector run about 20 times per 1,000 reads (about 10 µs per read) where a cookie-store node
ran it once. A lane does none of that: it keeps one connection, writes each batch with one `write` (hiredis packs
it), feeds replies to hiredis's reader as they arrive and answers the batches in order; one timer per batch bounds
the wait. Several batches may be in flight on it at once (Redis answers in order).

Failures keep redis.asyncio's meaning for the store: an error reply is that command's own exception (OOM, NOSCRIPT,
...); a lost connection or a batch unanswered within the timeout fails every batch in flight with
`ConnectionError` / `TimeoutError` (the store's 503), and each is sent once more on a new connection first, as the
client's one retry did. Used only for a plain TCP Redis; Sentinel, TLS and Unix sockets keep redis.asyncio.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Sequence
from typing import Any, cast

import hiredis
import redis.asyncio as aioredis
from redis._parsers.base import BaseParser
from redis.asyncio.connection import Connection
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import InvalidResponse, RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

Command = tuple[Any, ...]
RETRIED = (RedisConnectionError, RedisTimeoutError)  # the connection's failures, not a command's: sent once more


def lane_for(client: aioredis.Redis) -> RedisLane | None:
    """A lane to `client`'s server, or None when it is not a plain TCP Redis (Sentinel, TLS, a Unix socket)."""
    pool = client.connection_pool
    if pool.connection_class is not Connection:
        return None
    kwargs = pool.connection_kwargs
    setup: list[Command] = []
    if kwargs.get("password") is not None:
        user = kwargs.get("username")
        setup.append(("AUTH", kwargs["password"]) if user is None else ("AUTH", user, kwargs["password"]))
    if kwargs.get("db"):
        setup.append(("SELECT", kwargs["db"]))
    timeout = kwargs.get("socket_timeout") or 5.0
    connect_timeout = kwargs.get("socket_connect_timeout") or timeout
    address = (str(kwargs.get("host", "localhost")), int(kwargs.get("port", 6379)))
    return RedisLane(address, timeout, connect_timeout, setup)


class RedisLane:
    """Batches of commands over one connection, opened on first use and again after it fails."""

    def __init__(self, address: tuple[str, int], timeout: float, connect_timeout: float, setup: list[Command]) -> None:
        self.address = address
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.setup = setup
        self._link: _Link | None = None
        self._opening: asyncio.Future[_Link] | None = None

    def send_now(self, commands: Sequence[Command]) -> asyncio.Future[list[Any]] | None:
        """Write `commands` now if the connection is open: a future for their replies; None if it is not open."""
        link = self._link
        if link is None or not link.alive:
            return None
        return link.send(_pack(commands), len(commands))

    async def exchange(self, commands: Sequence[Command], retries: int = 1) -> list[Any]:
        """The replies to `commands`, in order (an error reply in its place); sent `retries` more times on a new
        connection if the connection fails."""
        packed = _pack(commands)
        for _ in range(retries):
            try:
                return await (await self._open()).send(packed, len(commands))
            except RETRIED:
                pass
        return await (await self._open()).send(packed, len(commands))

    async def _open(self) -> _Link:
        link = self._link
        if link is not None and link.alive:
            return link
        if self._opening is None:  # one connect for every batch that finds the lane closed
            self._opening = asyncio.ensure_future(self._connect())
        opening = self._opening
        try:
            return await asyncio.shield(opening)
        finally:
            if self._opening is opening and opening.done():
                self._opening = None

    async def _connect(self) -> _Link:
        loop = asyncio.get_running_loop()
        try:
            _, link = await asyncio.wait_for(
                loop.create_connection(lambda: _Link(self.timeout), *self.address), self.connect_timeout
            )
        except TimeoutError:
            raise RedisTimeoutError(f"Timeout connecting to {self.address[0]}:{self.address[1]}") from None
        except OSError as exc:
            raise RedisConnectionError(f"Error connecting to {self.address[0]}:{self.address[1]}: {exc}") from exc
        if self.setup:
            for reply in await link.send(_pack(self.setup), len(self.setup)):
                if isinstance(reply, BaseException):
                    link.close()
                    raise reply
        self._link = link
        return link

    def close(self) -> None:
        if self._link is not None:
            self._link.close()
            self._link = None


def _pack(commands: Sequence[Command]) -> bytes:
    return b"".join(hiredis.pack_command(command) for command in commands)


class _Batch:
    __slots__ = ("expected", "future", "replies", "timer")

    def __init__(self, expected: int, future: asyncio.Future[list[Any]], timer: asyncio.TimerHandle) -> None:
        self.expected = expected
        self.future = future
        self.replies: list[Any] = []
        self.timer = timer


class _Link(asyncio.Protocol):
    """One connection: batches written in order, answered in order as hiredis completes their replies."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.alive = False
        self._transport: asyncio.Transport | None = None
        self._batches: deque[_Batch] = deque()
        self._reader = hiredis.Reader(protocolError=InvalidResponse, replyError=BaseParser.parse_error)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's transports are not asyncio's subclasses
        self.alive = True

    def send(self, packed: bytes, expected: int) -> asyncio.Future[list[Any]]:
        if not self.alive or self._transport is None:
            raise RedisConnectionError("Connection closed by the server before write")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[list[Any]] = loop.create_future()
        self._batches.append(_Batch(expected, future, loop.call_later(self.timeout, self._timed_out)))
        self._transport.write(packed)
        return future

    def data_received(self, data: bytes) -> None:
        reader = self._reader
        reader.feed(data)
        batches = self._batches
        try:
            while (reply := reader.gets()) is not False:
                if not batches:
                    raise InvalidResponse("a reply nobody asked for")
                batch = batches[0]
                batch.replies.append(reply)
                if len(batch.replies) == batch.expected:
                    batches.popleft()
                    batch.timer.cancel()
                    if not batch.future.done():
                        batch.future.set_result(batch.replies)
        except RedisError as exc:  # a protocol error: the stream cannot be trusted any more
            self._fail(RedisConnectionError(f"Protocol error from Redis: {exc}"))

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(RedisConnectionError("Connection closed by server."))

    def _timed_out(self) -> None:
        self._fail(RedisTimeoutError("Timeout reading from Redis"))

    def close(self) -> None:
        self._fail(RedisConnectionError("Connection closed"))

    def _fail(self, error: RedisError) -> None:
        self.alive = False
        if self._transport is not None:
            self._transport.abort()
        while self._batches:
            batch = self._batches.popleft()
            batch.timer.cancel()
            if not batch.future.done():
                batch.future.set_exception(error)

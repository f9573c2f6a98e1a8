"""Keep-alive connections to the nodes: one stack of idle connections per node (the most recently used first, so
few stay warm), new ones opened with a connect timeout, and a cap on how many are open in total.

Each connection parses its node's responses with httptools and hands status, headers and body pieces to the
exchange that holds it (its `listener`); everything about the client side lives in `balancer.proxy`.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections import deque
from collections.abc import Collection
from typing import Protocol

import httptools
from yarl import URL

from balancer.errors import BAD_RESPONSE, CONNECT_TIMEOUT, DISCONNECTED, UNREACHABLE, UpstreamError
from balancer.http1 import Headers

log = logging.getLogger("balancer.pool")

IDLE_TIMEOUT = 15.0  # close an unused connection before the node does (aiohttp: 75 s), so reuse never races a close
_FRAMING = (b"content-length", b"transfer-encoding")


class Listener(Protocol):
    """The exchange using a connection: told about the response as it is parsed."""

    def response_head(self, status: int, reason: bytes, headers: Headers, keep_alive: bool) -> None: ...
    def response_body(self, data: bytes) -> None: ...
    def response_flush(self, ended: bool) -> None: ...
    def upstream_failed(self, error: UpstreamError) -> None: ...
    def upstream_writable(self, writable: bool) -> None: ...


def log_if_bug(exc: httptools.HttpParserError) -> None:
    """A parser error raised from inside one of our own callbacks is a bug in the balancer, not bad input: say so."""
    cause = exc.__context__
    if isinstance(exc, httptools.HttpParserCallbackError) and not isinstance(cause, httptools.HttpParserError):
        log.error("internal error while handling a message", exc_info=cause)


class UpstreamConnection(asyncio.Protocol):
    """One connection to a node, used by one exchange at a time; parses the node's responses."""

    __slots__ = (
        "url", "transport", "listener", "reusable", "last_read", "idle_since", "reading_paused", "_pool", "_clock",
        "_parser", "_status", "_reason", "_headers", "_in_head", "_no_body", "_ended", "_new_parser",
    )  # fmt: skip

    def __init__(self, pool: ConnectionPool, url: str) -> None:
        self.url = url
        self.transport: asyncio.Transport | None = None
        self.listener: Listener | None = None
        self.reusable = True  # False once anything makes the next response's start uncertain
        self.last_read = self.idle_since = 0.0
        self.reading_paused = False
        self._pool = pool
        self._clock = pool.clock
        self._parser = httptools.HttpResponseParser(self)
        self._status, self._reason = 0, b""
        self._headers: Headers = []
        self._in_head = self._no_body = self._ended = self._new_parser = False

    @property
    def open(self) -> bool:
        return self.transport is not None and not self.transport.is_closing()

    def expect_answer(self, *, head_request: bool) -> None:
        """A request is about to go out; the answer to HEAD announces a length but has no body."""
        self._no_body = head_request
        self._status = 0
        self.last_read = self._clock()

    def send(self, data: bytes) -> None:
        self.transport.write(data)  # type: ignore[union-attr]

    def pause_reading(self) -> None:
        if not self.reading_paused and self.transport is not None:
            self.reading_paused = True
            self.transport.pause_reading()

    def resume_reading(self) -> None:
        if self.reading_paused and self.transport is not None:
            self.reading_paused = False
            self.transport.resume_reading()

    def close(self) -> None:
        """Drop the connection (mid-message, or its state is unknown): the node sees it close."""
        self.reusable = False
        self.listener = None
        if self.transport is not None:
            self.transport.abort()

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        listener = self.listener
        if listener is None:  # nobody asked: the connection's state is unknown
            self.close()
            return
        self.last_read = self._clock()
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            log_if_bug(exc)
            self.reusable = False
            listener.upstream_failed(UpstreamError(BAD_RESPONSE))
            return
        ended, self._ended = self._ended, False
        if self._new_parser:  # a body-less answer ended at its head: the old parser would wait for a body
            self._new_parser = False
            self._parser = httptools.HttpResponseParser(self)
        listener.response_flush(ended)

    def eof_received(self) -> bool | None:
        self.reusable = False
        return None  # close; connection_lost tells the listener

    def connection_lost(self, exc: Exception | None) -> None:
        self.reusable = False
        self._pool.forget(self)
        listener, self.listener = self.listener, None
        if listener is None:
            return
        if self._status and not self._in_head and self._until_close():
            listener.response_flush(True)  # a body without length ends when the node closes
        else:
            listener.upstream_failed(UpstreamError(DISCONNECTED))

    def pause_writing(self) -> None:
        if self.listener is not None:
            self.listener.upstream_writable(False)

    def resume_writing(self) -> None:
        if self.listener is not None:
            self.listener.upstream_writable(True)

    # httptools callbacks

    def on_message_begin(self) -> None:
        self._status, self._reason, self._headers, self._in_head = 0, b"", [], True

    def on_status(self, reason: bytes) -> None:
        self._reason += reason

    def on_header(self, name: bytes, value: bytes) -> None:
        if self._in_head:  # afterwards: trailer fields, dropped (hop-by-hop)
            self._headers.append((name, value))

    def on_headers_complete(self) -> None:
        self._in_head = False
        status = self._status = self._parser.get_status_code()
        if status < 200:  # an interim answer (100, 103): the real one follows
            return
        listener = self.listener
        if listener is None:
            return
        keep_alive = self._parser.should_keep_alive()
        if not keep_alive:
            self.reusable = False
        listener.response_head(status, self._reason, self._headers, keep_alive)
        if self._no_body or status in (204, 304):
            self._ended = self._new_parser = True

    def on_body(self, data: bytes) -> None:
        if self.listener is not None and not self._ended:
            self.listener.response_body(data)

    def on_message_complete(self) -> None:
        if self._status >= 200 and not self._new_parser:
            self._ended = True

    def _until_close(self) -> bool:
        """Whether the current answer's body is delimited by the connection closing (no length, not chunked)."""
        if self._no_body or self._status < 200 or self._status in (204, 304):
            return False
        return not any(name.lower() in _FRAMING for name, _ in self._headers)


class ConnectionPool:
    """Idle connections per node, opened on demand, never more than `limit` in total (0: no limit)."""

    def __init__(self, *, connect_timeout: float, limit: int) -> None:
        loop = asyncio.get_running_loop()
        self.clock = loop.time
        self._loop = loop
        self._connect_timeout = connect_timeout
        self._limit = limit
        self._idle: dict[str, list[UpstreamConnection]] = {}
        self._open = 0
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._addresses: dict[str, tuple[str, int, ssl.SSLContext | None, bytes]] = {}
        self._closed = False

    def idle(self, url: str) -> UpstreamConnection | None:
        """A kept-alive connection to the node, if one is free."""
        stack = self._idle.get(url)
        while stack:
            conn = stack.pop()
            if conn.open:
                return conn
        return None

    async def connect(self, url: str) -> UpstreamConnection:
        """A new connection to the node; raises UpstreamError (unreachable) when it cannot be made in time."""
        while self._limit and self._open >= self._limit and not self._closed:
            self._close_one_idle()  # its connection_lost frees a slot and wakes a waiter
            waiter = self._loop.create_future()
            self._waiters.append(waiter)
            await waiter
        if self._closed:
            raise UpstreamError(DISCONNECTED)
        self._open += 1
        host, port, context, _ = self.address(url)
        try:
            _, conn = await asyncio.wait_for(
                self._loop.create_connection(lambda: UpstreamConnection(self, url), host, port, ssl=context),
                self._connect_timeout,
            )
        except TimeoutError:
            self._closed_one()
            raise UpstreamError(CONNECT_TIMEOUT, unreachable=True) from None
        except OSError:
            self._closed_one()
            raise UpstreamError(UNREACHABLE, unreachable=True) from None
        except BaseException:
            self._closed_one()
            raise
        return conn

    def release(self, conn: UpstreamConnection) -> None:
        """Put a connection whose exchange ended cleanly back for the next request to this node."""
        conn.listener = None
        if self._closed or self._waiters or not conn.reusable or not conn.open:
            conn.close()  # a request waiting for a free slot gets this one's
            return
        conn.resume_reading()  # an idle connection must still notice the node closing it
        conn.idle_since = self.clock()
        self._idle.setdefault(conn.url, []).append(conn)

    def forget(self, conn: UpstreamConnection) -> None:
        """A connection closed (called once, from its connection_lost)."""
        stack = self._idle.get(conn.url)
        if stack and conn in stack:
            stack.remove(conn)
        self._closed_one()

    def address(self, url: str) -> tuple[str, int, ssl.SSLContext | None, bytes]:
        """(host, port, TLS context, Host header value) for a node URL such as http://127.0.0.1:8081."""
        address = self._addresses.get(url)
        if address is None:
            parsed = URL(url)
            assert parsed.host is not None and parsed.port is not None, url
            context = ssl.create_default_context() if parsed.scheme == "https" else None
            address = (parsed.host, parsed.port, context, parsed.raw_authority.encode())
            self._addresses[url] = address
        return address

    def sweep(self, members: Collection[str]) -> None:
        """Close connections idle too long or to nodes that left the membership."""
        now = self.clock()
        for url in [url for url in self._addresses if url not in members]:
            del self._addresses[url]
        for url, stack in list(self._idle.items()):
            gone = url not in members
            for conn in [conn for conn in stack if gone or now - conn.idle_since > IDLE_TIMEOUT]:
                stack.remove(conn)
                conn.close()
            if not stack:
                del self._idle[url]

    def close(self) -> None:
        """Close every idle connection; connections in use close when their exchange ends."""
        self._closed = True
        for stack in self._idle.values():
            for conn in stack:
                conn.close()
        self._idle.clear()
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)

    def _close_one_idle(self) -> None:
        """At the cap: free a slot by closing the longest-idle connection to any node, if there is one."""
        candidates = [stack for stack in self._idle.values() if stack]
        if candidates:
            min(candidates, key=lambda stack: stack[0].idle_since).pop(0).close()

    def _closed_one(self) -> None:
        self._open -= 1
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

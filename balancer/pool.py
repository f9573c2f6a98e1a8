"""Keep-alive connections to the nodes: one stack of idle connections per node (the most recently used first, so
few stay warm), new ones opened with a connect timeout, a cap on how many are open in total, and the sweeps that
close idle connections and time out silent nodes.
"""

from __future__ import annotations

import asyncio
import ssl
from collections import deque
from collections.abc import Collection

from yarl import URL

from balancer.errors import CONNECT_TIMEOUT, DISCONNECTED, UNREACHABLE, UpstreamError
from balancer.upstream_connection import UpstreamConnection

IDLE_TIMEOUT = 15.0  # close an unused connection before the node does (aiohttp: 75 s), so reuse never races a close

Address = tuple[str, int, ssl.SSLContext | None, bytes]  # host, port, TLS context, Host header value


class ConnectionPool:
    """Idle connections per node, opened on demand, never more than `limit` in total (0: no limit)."""

    def __init__(self, *, connect_timeout: float, read_timeout: float, limit: int) -> None:
        loop = asyncio.get_running_loop()
        self.clock = loop.time
        self.read_timeout = read_timeout
        self.read_check_interval = min(1.0, read_timeout / 4)  # how often `expire_reads` should run
        self._loop = loop
        self._connect_timeout = connect_timeout
        self._limit = limit
        self._idle: dict[str, list[UpstreamConnection]] = {}
        self._connections: set[UpstreamConnection] = set()  # every open one, idle or in use
        self._open = 0
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._addresses: dict[str, Address] = {}
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
                self._loop.create_connection(
                    lambda: UpstreamConnection(self.forget, url, self.clock), host, port, ssl=context
                ),
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
        self._connections.add(conn)
        return conn

    def release(self, conn: UpstreamConnection) -> None:
        """Put a connection whose exchange ended cleanly back for the next request to this node."""
        conn.sink = None
        if self._closed or self._waiters or not conn.reusable or not conn.open:
            conn.close()  # a request waiting for a free slot gets this one's
            return
        if conn.reading_paused:
            conn.resume_reading()  # an idle connection must still notice the node closing it
        conn.idle_since = self.clock()
        stack = self._idle.get(conn.url)
        if stack is None:  # (not setdefault: that makes an empty list per request, to throw away)
            stack = self._idle[conn.url] = []
        stack.append(conn)

    def forget(self, conn: UpstreamConnection) -> None:
        """A connection closed (called once, from its connection_lost)."""
        self._connections.discard(conn)
        stack = self._idle.get(conn.url)
        if stack and conn in stack:
            stack.remove(conn)
        self._closed_one()

    def address(self, url: str) -> Address:
        """(host, port, TLS context, Host header value) for a node URL such as http://127.0.0.1:8081."""
        address = self._addresses.get(url)
        if address is None:
            parsed = URL(url)
            assert parsed.host is not None and parsed.port is not None, url
            context = ssl.create_default_context() if parsed.scheme == "https" else None
            address = (parsed.host, parsed.port, context, parsed.raw_authority.encode())
            self._addresses[url] = address
        return address

    def expire_reads(self) -> None:
        """Time out the connections in use whose node has been silent past the read timeout: a scan every
        `read_check_interval` is cheaper than a timer per request, and precise enough."""
        now = self.clock()
        for conn in list(self._connections):  # an idle one has no sink: nothing is due
            conn.check_deadline(now, self.read_timeout)

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

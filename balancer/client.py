"""One client connection: it feeds the bytes it reads to its `RequestReader`, runs one `Exchange` per request in
order (a pipelined request waits, with reading paused, until the one before it is answered), writes what the
exchanges give it, and closes cleanly (after the answer in progress, and lingering when the client may still be
sending). Driven by asyncio protocol callbacks: no task per request.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque

from balancer.errors import UPLOAD_ABORTED, Failure
from balancer.exchange import Exchange
from balancer.ports import ProxyServices
from balancer.reader import Request, RequestReader
from balancer.tunnel import Tunnel
from balancer.upstream_connection import UpstreamConnection
from balancer.upstreams import Upstream

log = logging.getLogger("balancer.proxy")
access_log = logging.getLogger("balancer.access")

LINGER = 2.0  # after an answer that leaves input unread, how long the client's further bytes are read and dropped

# Why reading from the client is paused (it resumes when no reason is left); the exchange adds its own.
PIPELINED = "a request is waiting for the one before it"
REJECTED = "the input cannot be read further"
UPGRADING = "an upgrade request waits for the node's answer"


class ClientConnection(asyncio.Protocol):
    """One client connection: reads its requests, answers them in order through exchanges, then closes."""

    def __init__(self, proxy: ProxyServices) -> None:
        self.proxy = proxy
        self.transport: asyncio.Transport | None = None
        self.active: Exchange | None = None  # the request being answered
        self.tunnel: Tunnel | None = None  # after a node's 101: bytes pass through unparsed
        self.full = False  # our write buffer to the client is above its high-water mark
        self.closing = False  # close once the active exchange ends
        self.idle_since: float | None = None
        self.access_log = proxy.access_log
        self._client_ip = b""
        self._reader = RequestReader(b"", None, b"")
        self._queue: deque[Exchange] = deque()  # pipelined requests waiting for their turn
        self._paused: set[str] = set()
        self._rejected: Failure | None = None  # answered once the requests before it are answered
        self._lingering = False

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        peer = transport.get_extra_info("peername")
        self._client_ip = str(peer[0]).encode() if isinstance(peer, tuple) else b""
        proxy = self.proxy
        self._reader = RequestReader(self._client_ip, proxy.hidden_cookie, proxy.session_header)
        self.idle_since = proxy.clock()
        proxy.connections.add(self)
        if proxy.shutting_down:
            self.close_when_idle()

    def data_received(self, data: bytes) -> None:
        tunnel = self.tunnel
        if tunnel is not None:
            tunnel.from_client(data)
            return
        if self._lingering:
            return
        reader, active = self._reader, self.active
        heads, refusal = reader.feed(data)
        if active is not None:  # (an exchange that this read starts sends all it has read at once)
            active.request_progress()
        for request in heads:
            self._enqueue(request)
        if refusal is not None:
            self._reject(refusal)
        elif reader.upgrading is not None:  # nothing more is read until the node agrees to the upgrade
            self.pause_reading(UPGRADING)
        elif reader.unread_input:  # a CONNECT (not supported), or bytes after a `Connection: close` request
            self.pause_reading(REJECTED)
            self.close_when_idle()

    def eof_received(self) -> bool:
        if self.tunnel is not None:
            self.tunnel.client_eof()
            return True  # the other direction may still carry bytes
        if self._lingering:
            return False
        active, reader = self.active, self._reader
        if active is not None and reader.current is active.request and not reader.in_head:
            self._client_left_mid_upload(active)
            return True
        self.closing = True
        self._queue.clear()
        return active is not None  # half-closed: the answer in progress still goes out, then it closes

    def connection_lost(self, exc: Exception | None) -> None:
        proxy = self.proxy
        proxy.connections.discard(self)
        if proxy.shutting_down and not proxy.connections:
            proxy.drained.set()
        self.closing = True
        self._queue.clear()
        if self.tunnel is not None:
            self.tunnel.close()
        active, self.active = self.active, None
        if active is not None:
            log.debug("client %s went away before its answer was complete", self._client_ip.decode())
            active.abandon()

    def pause_writing(self) -> None:
        self.full = True
        conn = self._node_conn()
        if conn is not None:
            conn.pause_reading()

    def resume_writing(self) -> None:
        self.full = False
        conn = self._node_conn()
        if conn is not None:
            conn.resume_reading()

    def _node_conn(self) -> UpstreamConnection | None:
        """The node connection whose bytes are written to this client: its answer's, or its tunnel's."""
        active = self.active
        if active is not None:
            return active.conn
        return self.tunnel.conn if self.tunnel is not None else None

    # What the proxy and the exchanges ask of the connection

    def close_when_idle(self) -> None:
        """Close now if nothing is being answered, else right after the current answer (with Connection: close)."""
        self.closing = True
        if self.tunnel is not None:
            self.tunnel.going_away()
        elif self.active is None:
            self._close()

    def abort(self) -> None:
        """Close at once, whatever is in progress (the end of a graceful stop)."""
        if self.transport is not None:
            self.transport.abort()

    def cut_off(self) -> None:
        """Part of an answer went out and the rest cannot follow: closing is the only honest end."""
        self.closing = True
        self._close()

    def exchange_done(self, exchange: Exchange) -> None:
        """The answer is out: go on with the next pipelined request, or answer a refusal, or close."""
        self.active = None
        keep_going = not self.closing and exchange.request.keep_alive
        if keep_going and self._queue:
            self._start_next()
            return
        if self._rejected is not None:
            self.send_error(self._rejected, close=True)
            keep_going = False
        if not keep_going:
            self._close()
        elif self._reader.current is None or self._reader.in_head:  # between requests: idle
            self.idle_since = self.proxy.clock()

    def start_tunnel(
        self, conn: UpstreamConnection, upstream: Upstream, head: bytes, *, websocket: bool, first: bytes
    ) -> None:
        """The node answered 101 (`head`, for the client): from now on bytes pass both ways unparsed (`first`: the
        node's bytes that came with its 101; the client's that came after its request head follow)."""
        self.write(head)
        proxy = self.proxy
        tunnel = self.tunnel = Tunnel(self, conn, upstream, websocket=websocket, clock=proxy.clock,
                                      on_closed=proxy.tunnels.discard)  # fmt: skip
        proxy.tunnels.add(tunnel)
        self.active = None
        if self.full:
            conn.pause_reading()
        if first:
            tunnel.from_node(first)
        if self._reader.tunnel_input:
            tunnel.from_client(self._reader.tunnel_input)
            self._reader.tunnel_input = b""
        self._paused.clear()  # why reading paused for the request no longer holds (a full node: the tunnel's own)
        if self.transport is not None and not self.transport.is_closing():
            self.transport.resume_reading()
        if proxy.shutting_down:
            tunnel.going_away()

    def write(self, data: bytes) -> None:
        transport = self.transport
        if transport is not None and not transport.is_closing():
            transport.write(data)

    def send_error(self, failure: Failure, *, close: bool) -> None:
        """The one place the balancer's JSON errors are written."""
        self.write(failure.response(close=close or self.closing))

    def pause_reading(self, reason: str) -> None:
        transport = self.transport
        if not self._paused and transport is not None and not transport.is_closing():
            transport.pause_reading()
        self._paused.add(reason)

    def resume_reading(self, reason: str) -> None:
        if reason in self._paused:
            self._paused.discard(reason)
            transport = self.transport
            if not self._paused and transport is not None and not transport.is_closing():
                transport.resume_reading()

    def log_access(self, request: Request, status: int) -> None:
        if self.access_log:  # checked here and, on the hot path, by the caller
            method, target = request.method.decode(), request.target.decode()
            access_log.info('%s "%s %s" %d', self._client_ip.decode(), method, target, status)

    # Inside

    def _enqueue(self, request: Request) -> None:
        self.idle_since = None
        exchange = Exchange(self, request)
        if self.active is None:
            self.active = exchange
            exchange.start()
        else:
            self._queue.append(exchange)
            self.pause_reading(PIPELINED)

    def _start_next(self) -> None:
        exchange = self._queue.popleft()
        if not self._queue:
            self.resume_reading(PIPELINED)
        self.active = exchange
        exchange.start()

    def _reject(self, failure: Failure) -> None:
        """Unreadable input: the request it broke is dropped, the ones before it are answered, then this."""
        self.pause_reading(REJECTED)
        last = self._queue[-1] if self._queue else self.active
        if last is not None and not last.request.done:  # broken mid-body: the node never gets the rest
            if last is not self.active:
                self._queue.pop()
            else:
                self.active = None
                last.abandon()
                if last.answer_begun:
                    self.cut_off()
                    return
        self._rejected = failure
        if self.active is None:
            self.send_error(failure, close=True)
            self.cut_off()

    def _client_left_mid_upload(self, exchange: Exchange) -> None:
        """The client stopped sending (half-closed) before its body was complete: not the node's fault."""
        log.debug("client %s broke off its upload", self._client_ip.decode())
        self.active = None
        answer_begun = exchange.answer_begun
        exchange.abandon()
        if not answer_begun:
            self.send_error(UPLOAD_ABORTED, close=True)
        self.cut_off()

    def _close(self) -> None:
        """Close once what was written is sent. If the client may still be sending, first read and drop its bytes
        for a moment (a lingering close): closing on unread input makes the kernel reset the connection, and the
        client could lose the answer it was about to read."""
        transport = self.transport
        if transport is None or transport.is_closing() or self._lingering:
            return
        if not self._reader.unread_input or not transport.can_write_eof():
            transport.close()
            return
        self._lingering = True
        transport.write_eof()
        self._paused.clear()
        transport.resume_reading()
        asyncio.get_running_loop().call_later(LINGER, transport.close)

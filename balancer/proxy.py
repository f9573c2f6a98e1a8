"""The data path, top to bottom: parse a client's request → pick a node → forward the rewritten head and stream
the body → stream the node's answer back → map failures to small JSON errors.

One `ClientConnection` per client connection, driven by asyncio protocol callbacks (no task per request). Requests
on one connection are answered in order; a pipelined request waits, with reading paused, until the one before it
is answered. Bodies stream both ways: while one side's write buffer is full, reading from the other side pauses.
Which node is the router's business (`balancer.routing`); node connections are `balancer.pool`'s.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable

import httptools

from balancer.errors import (
    BAD_REQUEST,
    DISCONNECTED,
    HEAD_TOO_LARGE,
    NO_HEALTHY,
    TIMEOUT,
    UPLOAD_ABORTED,
    Failure,
    UpstreamError,
)
from balancer.http1 import (
    CHUNK_END,
    CONTINUE,
    IDEMPOTENT,
    NO_BODY_STATUSES,
    Body,
    ForwardedRequest,
    Headers,
    chunk,
    forward_request,
    head_refusal,
    message,
    origin_form,
    response_head,
    with_host,
)
from balancer.pool import ConnectionPool, UpstreamConnection, log_if_bug
from balancer.routing import NoHealthyUpstream, Route, Router, RouteRequest
from balancer.settings import BalancerSettings
from balancer.upstreams import Upstream

log = logging.getLogger("balancer.proxy")
access_log = logging.getLogger("balancer.access")

OWN_PREFIX = b"/_balancer/"  # never proxied: the balancer answers these itself
MAX_HEAD = 64 * 1024  # request line and headers
KEEPALIVE_TIMEOUT = 75.0  # an idle client connection is closed after this long (as aiohttp's server does)
LINGER = 2.0  # after an answer that leaves input unread, how long the client's further bytes are read and dropped

# Why reading from the client is paused (it resumes when no reason is left).
PIPELINED = "a request is waiting for the one before it"
CONNECTING = "the node connection is being opened"
UPSTREAM_FULL = "the node is not taking the body as fast as it comes"
REJECTED = "the request was malformed; nothing more is read"

OwnEndpoints = Callable[[bytes, bytes], tuple[int, Headers, bytes]]  # (method, path) -> status, headers, body


class Proxy:
    """What every client connection shares: settings, the router, the node connection pool, and the connections."""

    def __init__(self, settings: BalancerSettings, router: Router, pool: ConnectionPool, own: OwnEndpoints) -> None:
        self.router = router
        self.pool = pool
        self.own = own
        self.read_timeout = settings.read_timeout
        self.read_check_interval = min(1.0, settings.read_timeout / 4)
        self.hidden_cookie = router.policy.affinity_cookie
        self.session_header = settings.session_header.lower().encode()
        self.access_log = settings.access_log
        self.clock = pool.clock
        self.connections: set[ClientConnection] = set()
        self.shutting_down = False
        self.drained = asyncio.Event()  # set once shutting down and the last client connection has closed

    def connection(self) -> ClientConnection:
        """The protocol factory for the listening server."""
        return ClientConnection(self)

    def shutdown(self) -> None:
        """Stop keeping connections alive: idle ones close now, busy ones once their current answer is sent."""
        self.shutting_down = True
        for conn in list(self.connections):
            conn.close_when_idle()
        if not self.connections:
            self.drained.set()

    def expire_reads(self) -> None:
        """Answer 504 where a node has been silent for longer than the read timeout (checked every
        `read_check_interval` seconds: cheaper than a timer per request, and precise enough)."""
        now = self.clock()
        for conn in list(self.connections):
            conn.expire(now)

    def sweep(self) -> None:
        """Close client connections idle longer than the keep-alive timeout."""
        deadline = self.clock() - KEEPALIVE_TIMEOUT
        for conn in list(self.connections):
            if conn.idle_since is not None and conn.idle_since < deadline:
                conn.close_when_idle()


class Exchange:
    """One request and its answer, from the request's first byte to the answer's last."""

    __slots__ = (
        "target", "headers", "method", "http11", "keep_alive", "forwarded", "local", "request_done", "pending",
        "discard", "route", "upstream", "excluded", "conn", "attempts", "failure", "body", "response_started",
    )  # fmt: skip

    def __init__(self) -> None:
        self.target = b""
        self.headers: Headers = []
        self.method = b""
        self.http11 = self.keep_alive = True
        self.forwarded: ForwardedRequest | None = None  # the rewritten head and what routing reads
        self.local = False  # one of the balancer's own endpoints
        self.request_done = False
        self.pending: list[bytes] = []  # request bytes not yet written to the node (head first, then body)
        self.discard = False  # the rest of the request body is read and dropped (the answer came early)
        self.route: Route | None = None
        self.upstream: Upstream | None = None  # the node this exchange counts as in flight on
        self.excluded: Upstream | None = None  # the node that failed the first attempt
        self.conn: UpstreamConnection | None = None
        self.attempts = 0
        self.failure: Failure | None = None  # why the previous attempt failed
        self.body = Body.NONE  # how the answer's body is framed for the client
        self.response_started = False


class ClientConnection(asyncio.Protocol):
    """One client connection: parses its requests, forwards each to a node, and relays the answers in order."""

    def __init__(self, proxy: Proxy) -> None:
        self._proxy = proxy
        self._transport: asyncio.Transport | None = None
        self._client_ip = b""
        self._parser = httptools.HttpRequestParser(self)
        self._parsing: Exchange | None = None  # the request whose bytes are being parsed
        self._in_head = False
        self._head_bytes = 0  # the current head's completed fields
        self._head_read = 0  # bytes of reads made entirely inside the current head (bounds an unfinished line)
        self._active: Exchange | None = None  # the request being answered
        self._queue: deque[Exchange] = deque()  # pipelined requests waiting for their turn
        self._paused: set[str] = set()
        self._client_full = False  # our write buffer to the client is above its high-water mark
        self._closing = False  # close once the active exchange ends
        self._rejected: Failure | None = None  # a malformed request: answered with this once the active one ends
        self._unread_input = False  # the client may still be sending what will never be read
        self._lingering = False
        self._feeding = False
        self._completed = 0  # requests parsed to their end on this connection
        self._refusal: Failure | None = None  # why on_headers_complete stopped the parser, if it did
        self._no_more_requests = False  # a request said `Connection: close`: nothing after it is a request
        self._connecting: asyncio.Future[None] | None = None
        self._out: list[bytes] = []  # answer bytes gathered during one read from the node
        self.idle_since: float | None = None

    # asyncio.Protocol: the client side

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]
        peer = transport.get_extra_info("peername")
        self._client_ip = str(peer[0]).encode() if isinstance(peer, tuple) else b""
        self.idle_since = self._proxy.clock()
        self._proxy.connections.add(self)
        if self._proxy.shutting_down:
            self.close_when_idle()

    def data_received(self, data: bytes) -> None:
        if self._lingering or self._no_more_requests:
            return
        head_before = self._parsing if self._in_head else None
        completed_before = self._completed
        self._feeding = True
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade:  # what follows the request is another protocol: not supported
            self._pause(REJECTED)
            self.close_when_idle()
        except httptools.HttpParserError as exc:
            if self._no_more_requests:  # bytes after a `Connection: close` request are never processed
                self._unread_input = True
            else:
                refusal, self._refusal = self._refusal, None
                if refusal is None:
                    log_if_bug(exc)
                log.debug("malformed request from %s: %s", self._client_ip.decode(), type(exc).__name__)
                self._reject(refusal or BAD_REQUEST)
        finally:
            self._feeding = False
        ex = self._active
        if ex is not None and ex.pending and ex.conn is not None:
            self._send(ex)
        if self._in_head:
            # Count the whole read when it all belongs to the unfinished head, or the head began in it after no other.
            if self._parsing is head_before or self._completed == completed_before:
                self._head_read += len(data)
            if max(self._head_bytes, self._head_read) > MAX_HEAD:
                self._reject(HEAD_TOO_LARGE)

    def eof_received(self) -> bool:
        if self._lingering:
            return False
        parsing = self._parsing
        if parsing is not None and parsing is self._active and not self._in_head:
            self._client_left_mid_upload(parsing)
            return True
        self._closing = True
        self._parsing = None
        self._queue.clear()
        return self._active is not None  # half-closed: the answer in progress still goes out, then it closes

    def connection_lost(self, exc: Exception | None) -> None:
        connections = self._proxy.connections
        connections.discard(self)
        if self._proxy.shutting_down and not connections:
            self._proxy.drained.set()
        self._closing = True
        self._queue.clear()
        ex, self._active = self._active, None
        if ex is not None:
            if not ex.request_done:
                log.debug("client %s broke off its upload", self._client_ip.decode())
            elif ex.upstream is not None:
                log.debug("client %s went away before its answer was complete", self._client_ip.decode())
            self._leave_node(ex, reusable=False)

    def pause_writing(self) -> None:
        self._client_full = True
        ex = self._active
        if ex is not None and ex.conn is not None:
            ex.conn.pause_reading()

    def resume_writing(self) -> None:
        self._client_full = False
        ex = self._active
        if ex is not None and ex.conn is not None:
            ex.conn.last_read = self._proxy.clock()  # the read timeout counts from now
            ex.conn.resume_reading()

    def abort(self) -> None:
        """Close at once, whatever is in progress (the end of a graceful stop)."""
        if self._transport is not None:
            self._transport.abort()

    def close_when_idle(self) -> None:
        """Close now if nothing is being answered, else right after the current answer (with Connection: close)."""
        self._closing = True
        if self._active is None:
            self._close()

    # httptools callbacks: the client's requests

    def on_message_begin(self) -> None:
        if self._no_more_requests:
            raise httptools.HttpParserError("a request after Connection: close")
        self._parsing = Exchange()
        self._in_head = True
        self._head_bytes = self._head_read = 0

    def on_url(self, url: bytes) -> None:
        self._parsing.target += url  # type: ignore[union-attr]
        self._head_bytes += len(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        if self._in_head:  # afterwards: trailer fields of a chunked body, dropped (hop-by-hop)
            self._parsing.headers.append((name, value))  # type: ignore[union-attr]
            self._head_bytes += len(name) + len(value) + 4

    def on_headers_complete(self) -> None:
        ex = self._parsing
        assert ex is not None
        self._in_head = False
        self.idle_since = None
        parser = self._parser
        ex.method = parser.get_method()
        ex.http11 = parser.get_http_version() == "1.1"
        ex.keep_alive = parser.should_keep_alive()
        refusal = head_refusal(ex.method, ex.target, ex.headers, self._head_bytes, MAX_HEAD)
        if refusal is not None:
            self._refusal = HEAD_TOO_LARGE if refusal == "too_large" else BAD_REQUEST
            raise httptools.HttpParserError(f"request head refused: {refusal}")
        target = origin_form(ex.target)
        if target is None:
            raise httptools.HttpParserError("invalid request target")
        ex.target = target
        if target.startswith(OWN_PREFIX):
            ex.local = True
        else:
            ex.forwarded = forward_request(
                ex.method, target, ex.headers, client_ip=self._client_ip,
                hidden_cookie=self._proxy.hidden_cookie, session_header=self._proxy.session_header,
            )  # fmt: skip
        if self._active is None:
            self._active = ex
            self._start(ex)
        else:
            self._queue.append(ex)
            self._pause(PIPELINED)

    def on_body(self, data: bytes) -> None:
        ex = self._parsing
        if ex is not None and not ex.local and not ex.discard:
            ex.pending.append(chunk(data) if ex.forwarded.chunked else data)  # type: ignore[union-attr]

    def on_message_complete(self) -> None:
        ex, self._parsing = self._parsing, None
        assert ex is not None
        ex.request_done = True
        self._completed += 1
        if not ex.keep_alive:
            self._no_more_requests = True  # RFC 9112 9.6: no further request on this connection is processed
        if ex.forwarded is not None and ex.forwarded.chunked and not ex.discard:
            ex.pending.append(CHUNK_END)
        if ex is not self._active:
            return
        if ex.local:
            self._answer_locally(ex)
        elif ex.discard:  # answered before the body was complete (by the node, or with an error)
            self._exchange_done(ex)
        elif ex.conn is not None:
            ex.conn.last_read = self._proxy.clock()  # the read timeout counts from the request's end

    # Forwarding a request

    def _start(self, ex: Exchange) -> None:
        """The exchange's turn has come: answer it here, or send it to a node."""
        if ex.local:
            if ex.request_done:
                self._answer_locally(ex)
            return
        if ex.forwarded.expect_continue and not ex.request_done:  # type: ignore[union-attr]
            self._write(CONTINUE)
        self._dispatch(ex)

    def _dispatch(self, ex: Exchange) -> None:
        """Pick a node (never the one that just failed) and send the request on a kept-alive or new connection."""
        forwarded = ex.forwarded
        assert forwarded is not None
        try:
            route = self._proxy.router.route(
                RouteRequest(forwarded.cookie, forwarded.session_token), exclude=ex.excluded
            )
        except NoHealthyUpstream:
            self._answer_error(ex, ex.failure or NO_HEALTHY)
            return
        upstream = route.upstream
        ex.route, ex.upstream = route, upstream
        ex.attempts += 1
        upstream.in_flight += 1
        head = forwarded.head
        if not forwarded.has_host:
            head = with_host(head, self._proxy.pool.address(upstream.url)[3])
        ex.pending.insert(0, head)
        conn = self._proxy.pool.idle(upstream.url)
        if conn is not None:
            self._bind(ex, conn)
        else:
            self._pause(CONNECTING)
            self._connecting = asyncio.ensure_future(self._connect(ex, upstream))  # referenced while it runs

    async def _connect(self, ex: Exchange, upstream: Upstream) -> None:
        try:
            conn = await self._proxy.pool.connect(upstream.url)
        except UpstreamError as error:
            self._connecting = None
            if ex.upstream is upstream and ex is self._active:
                self._resume(CONNECTING)
                self.upstream_failed(error)
            return
        self._connecting = None
        if ex.upstream is not upstream or ex is not self._active:  # the client left meanwhile
            self._proxy.pool.release(conn)
            return
        self._resume(CONNECTING)
        self._bind(ex, conn)

    def _bind(self, ex: Exchange, conn: UpstreamConnection) -> None:
        ex.conn = conn
        conn.listener = self
        conn.expect_answer(head_request=ex.method == b"HEAD")
        if self._client_full:
            conn.pause_reading()
        if not self._feeding:  # else data_received sends head and body together once the parser is done
            self._send(ex)

    def _send(self, ex: Exchange) -> None:
        pending = ex.pending
        data = pending[0] if len(pending) == 1 else b"".join(pending)
        pending.clear()
        ex.conn.send(data)  # type: ignore[union-attr]

    def expire(self, now: float) -> None:
        """The read timeout: once the request is sent, each wait for the node's next bytes may last read_timeout
        (not counted while the client is too slow to take them)."""
        ex = self._active
        if ex is None or not ex.request_done or ex.conn is None or ex.conn.reading_paused:
            return
        if now - ex.conn.last_read > self._proxy.read_timeout:
            self.upstream_failed(UpstreamError(TIMEOUT))

    # pool.Listener: the node's answer

    def response_head(self, status: int, reason: bytes, headers: Headers, keep_alive: bool) -> None:
        ex = self._active
        assert ex is not None and ex.route is not None and ex.upstream is not None
        ex.upstream.served += 1
        ex.response_started = True
        no_body = ex.method == b"HEAD" or status in NO_BODY_STATUSES
        client_keep_alive = ex.keep_alive and not self._closing
        head, ex.body = response_head(
            status, reason, headers, no_body=no_body, client_http11=ex.http11,
            keep_alive=client_keep_alive, set_cookie=ex.route.set_cookie,
        )  # fmt: skip
        if ex.body is Body.UNTIL_CLOSE or not client_keep_alive:
            self._closing = True
        self._out.append(head)
        if self._proxy.access_log:
            self._log_access(ex, status)

    def response_body(self, data: bytes) -> None:
        body = self._active.body  # type: ignore[union-attr]
        if body is Body.CHUNKED:
            self._out.append(chunk(data))
        elif body is not Body.NONE:
            self._out.append(data)

    def response_flush(self, ended: bool) -> None:
        ex = self._active
        assert ex is not None
        out = self._out
        if ended and ex.body is Body.CHUNKED:
            out.append(CHUNK_END)
        if out:
            self._write(out[0] if len(out) == 1 else b"".join(out))
            out.clear()
        if ended:
            self._response_ended(ex)

    def upstream_failed(self, error: UpstreamError) -> None:
        """The node could not give a (complete) answer: retry, answer with an error, or cut the client off."""
        ex = self._active
        assert ex is not None and ex.upstream is not None
        upstream = ex.upstream
        self._out.clear()
        self._leave_node(ex, reusable=False)
        upstream.failures += 1
        failure = error.failure
        if ex.response_started:  # the head went out: the client must not take a truncated body for a whole one
            log.warning("upstream %s failed mid-response: %s", upstream.url, failure.reason)
            self._closing = True
            self._close()
            return
        log.warning("upstream %s: %s", upstream.url, failure.reason)
        if error.unreachable:
            self._proxy.router.registry.mark_down(upstream, failure.reason)
        forwarded = ex.forwarded
        assert forwarded is not None
        # Nothing reached a node that could not be connected to; a body-less idempotent request can be replayed.
        replayable = error.unreachable or (
            failure is DISCONNECTED and ex.method in IDEMPOTENT and not forwarded.has_body
        )
        if replayable and ex.attempts < 2:
            ex.failure, ex.excluded = failure, upstream
            if error.unreachable:
                ex.pending.pop(0)  # the head: written again for the next node
            else:
                ex.pending.clear()
            self._dispatch(ex)
            return
        self._answer_error(ex, failure)

    def upstream_writable(self, writable: bool) -> None:
        if writable:
            self._resume(UPSTREAM_FULL)
        else:
            self._pause(UPSTREAM_FULL)

    # Ending an exchange

    def _response_ended(self, ex: Exchange) -> None:
        self._leave_node(ex, reusable=ex.request_done)  # an early answer: the node did not get the whole body
        self._answered(ex)

    def _answered(self, ex: Exchange) -> None:
        """The answer is out: end the exchange now, or once the rest of the request body has been read and dropped
        (so the connection stays usable)."""
        if ex.request_done:
            self._exchange_done(ex)
        else:
            ex.discard = True
            ex.pending.clear()

    def _leave_node(self, ex: Exchange, *, reusable: bool) -> None:
        """Stop using the node: return or drop the connection, and count it out of in-flight."""
        conn, ex.conn = ex.conn, None
        if conn is not None:
            if reusable:
                self._proxy.pool.release(conn)
            else:
                conn.close()
        self._resume(UPSTREAM_FULL)
        if ex.upstream is not None:
            ex.upstream.in_flight -= 1
            ex.upstream = None

    def _exchange_done(self, ex: Exchange) -> None:
        """The answer is out: close if asked to, else go on with the next pipelined request."""
        self._active = None
        if self._rejected is not None:
            self._write(self._rejected.response(close=True))
            self._closing = True
        if self._closing or not ex.keep_alive:
            self._close()
            return
        if self._queue:
            nxt = self._queue.popleft()
            if not self._queue:
                self._resume(PIPELINED)
            self._active = nxt
            self._start(nxt)
        elif self._parsing is None or self._in_head:
            self.idle_since = self._proxy.clock()

    def _answer_locally(self, ex: Exchange) -> None:
        status, headers, body = self._proxy.own(ex.method, ex.target.partition(b"?")[0])
        close = self._closing or not ex.keep_alive
        self._write(message(status, headers, body, close=close, head_only=ex.method == b"HEAD"))
        if self._proxy.access_log:
            self._log_access(ex, status)
        self._exchange_done(ex)

    def _answer_error(self, ex: Exchange, failure: Failure) -> None:
        self._write(failure.response(close=self._closing or not ex.keep_alive))
        if self._proxy.access_log:
            self._log_access(ex, failure.status)
        self._answered(ex)

    def _client_left_mid_upload(self, ex: Exchange) -> None:
        """The client stopped sending (half-closed) before its body was complete: not the node's fault."""
        log.debug("client %s broke off its upload", self._client_ip.decode())
        self._parsing = None
        self._leave_node(ex, reusable=False)
        self._active = None
        self._closing = True
        if not ex.response_started:
            self._write(UPLOAD_ABORTED.response(close=True))
        self._close()

    def _reject(self, failure: Failure) -> None:
        """A malformed request (or one too large to parse): answer 4xx once the requests before it are answered."""
        parsing, self._parsing = self._parsing, None
        self._in_head = False
        self._rejected = failure
        self._unread_input = True
        self._queue.clear()
        self._pause(REJECTED)
        if parsing is not None and parsing is self._active:  # broken mid-body: the node never gets the rest
            self._leave_node(parsing, reusable=False)
            if not parsing.response_started:
                self._write(failure.response(close=True))
            self._active = None
            self._close()
        elif self._active is None:
            self._write(failure.response(close=True))
            self._close()

    def _close(self) -> None:
        """Close once what was written is sent. If the client may still be sending, first read and drop its bytes
        for a moment (a lingering close): closing on unread input makes the kernel reset the connection, and the
        client could lose the answer it was about to read."""
        transport = self._transport
        if transport is None or transport.is_closing():
            return
        if not self._unread_input or not transport.can_write_eof():
            transport.close()
            return
        self._lingering = True
        transport.write_eof()
        self._paused.clear()
        transport.resume_reading()
        asyncio.get_running_loop().call_later(LINGER, transport.close)

    # Small helpers

    def _write(self, data: bytes) -> None:
        transport = self._transport
        if transport is not None and not transport.is_closing():
            transport.write(data)

    def _pause(self, reason: str) -> None:
        if not self._paused and self._transport is not None and not self._transport.is_closing():
            self._transport.pause_reading()
        self._paused.add(reason)

    def _resume(self, reason: str) -> None:
        if reason in self._paused:
            self._paused.discard(reason)
            if not self._paused and self._transport is not None and not self._transport.is_closing():
                self._transport.resume_reading()

    def _log_access(self, ex: Exchange, status: int) -> None:
        access_log.info('%s "%s %s" %d', self._client_ip.decode(), ex.method.decode(), ex.target.decode(), status)

"""One request and its answer, from the moment its turn comes to the answer's last byte.

An exchange is in exactly one `State` at a time. It asks the router for a node, takes a kept-alive or new node
connection, sends the request (the head, then the body as it arrives), relays the answer to its client, and
gives the connection back. Every failure of the node goes through `upstream_failed`: retry once elsewhere when
nothing reached a node (or a body-less idempotent request was cut off), else answer with a JSON error, or cut the
client off when part of the answer is already out.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import Awaitable

from balancer.errors import BAD_RESPONSE, DISCONNECTED, NO_HEALTHY, Failure, UpstreamError
from balancer.event_stream import EventStream, declares_event_stream, is_event_stream
from balancer.http1 import (
    CHUNK_END,
    CHUNKED,
    CONTINUE,
    IDEMPOTENT,
    NO_BODY,
    NO_BODY_STATUSES,
    UNTIL_CLOSE,
    Headers,
    chunk,
    message,
    relay_response_head,
    response_head,
    upgrade_head,
    with_host,
)
from balancer.ports import ClientSide
from balancer.reader import MAX_OWN_BODY, LocalAnswer, LocalRequest, Request
from balancer.routing import NoHealthyUpstream, Route
from balancer.upstream_connection import UpstreamConnection
from balancer.upstreams import Upstream

log = logging.getLogger("balancer.proxy")

# Why an exchange has the client connection stop reading (see ClientConnection.pause_reading).
OPENING = "a node connection is being opened"
NODE_FULL = "the node is not taking the body as fast as it comes"


class State(enum.Enum):
    WAITING = "waiting for the requests before it to be answered"
    ROUTING = "choosing a node"
    CONNECTING = "opening a node connection"
    SENDING = "sending the request; no answer yet"
    RELAYING = "relaying the answer to the client"
    DRAINING = "answered; the rest of the request body is read and dropped"
    DONE = "over"


# Module-level names for the hot path: looking up an Enum member on its class costs ~5x a global (Python 3.11).
WAITING, ROUTING, CONNECTING, SENDING, RELAYING, DRAINING, DONE = State


class Exchange:
    """One request forwarded to a node (or answered by the balancer) and its answer relayed."""

    __slots__ = ("client", "request", "state", "route", "upstream", "excluded", "conn", "attempts", "failure",
                 "body", "_out", "_connecting", "_began", "stream")  # fmt: skip

    def __init__(self, client: ClientSide, request: Request) -> None:
        self.client = client
        self.request = request
        self.state = WAITING
        self.route: Route | None = None
        self.upstream: Upstream | None = None  # the node this exchange counts as in flight on
        self.excluded: Upstream | None = None  # the node that failed the first attempt
        self.conn: UpstreamConnection | None = None
        self.attempts = 0
        self.failure: Failure | None = None  # why the previous attempt failed
        self.body = NO_BODY  # how the answer's body is framed for the client
        self._out: list[bytes] = []  # answer bytes gathered during one read from the node
        self._connecting: asyncio.Future[None] | None = None
        self._began = 0.0  # when its turn came (forwarded requests): the balancer's own time counts from here
        self.stream: EventStream | None = None  # an event-stream answer being relayed (swept like a tunnel)

    def start(self) -> None:
        """Its turn has come: answer it here, or send it to a node."""
        request = self.request
        if request.local:
            self.state = SENDING
            self.request_progress()
            return
        if request.forwarded.expect_continue and not request.done:  # type: ignore[union-attr]
            self.client.write(CONTINUE)
        self._began = self.client.proxy.clock()
        self._route()

    def request_progress(self) -> None:
        """More of the request was read: pass it on (or, once it is complete, finish what waited for that)."""
        request, state = self.request, self.state
        if state is DRAINING:
            if request.done:
                self.state = DONE
                self.client.exchange_done(self)
        elif state is SENDING or state is RELAYING:
            if request.local:
                if request.done:
                    self._answer_locally()
            elif self.conn is not None:
                self._send()

    @property
    def answer_begun(self) -> bool:
        """Some of the answer (the node's, or an error) has gone to the client."""
        return self.state is RELAYING or self.state is DRAINING

    def abandon(self) -> None:
        """The client is gone or broke its request: stop, without an answer."""
        self._leave_node(reusable=False)
        self.state = DONE

    # Routing and connecting

    def _route(self) -> None:
        """Pick a node (never the one that just failed) and send the request on a kept-alive or new connection."""
        self.state = ROUTING
        forwarded = self.request.forwarded
        assert forwarded is not None
        client = self.client
        try:
            route = client.proxy.router.route(forwarded, self.excluded)
        except NoHealthyUpstream:
            self._answer_error(self.failure or NO_HEALTHY)
            return
        upstream = route.upstream
        self.route, self.upstream = route, upstream
        self.attempts += 1
        upstream.request_started()
        pool = client.proxy.pool
        conn = pool.idle(upstream.url)
        if conn is not None:
            self._bind(conn)
        else:
            self.state = CONNECTING
            client.pause_reading(OPENING)
            self._connecting = asyncio.ensure_future(_connect(self, upstream))  # referenced while it runs

    def _still_connecting(self, upstream: Upstream) -> bool:
        """Whether the connection to `upstream` is still wanted (the client may have left meanwhile)."""
        self._connecting = None
        if self.state is not CONNECTING or self.upstream is not upstream:
            return False
        self.client.resume_reading(OPENING)
        return True

    def _bind(self, conn: UpstreamConnection) -> None:
        """Send the head and what has been read of the body on the node connection, in one write."""
        request, forwarded = self.request, self.request.forwarded
        assert forwarded is not None and self.upstream is not None
        self.conn = conn
        self.state = SENDING
        conn.attach(self, head_request=request.method == b"HEAD")
        if self.client.full:
            conn.pause_reading()
        head = forwarded.head
        if not forwarded.has_host:
            head = with_host(head, self.client.proxy.pool.address(self.upstream.url)[3])
        conn.send(head + request.take() if request.pending else head)
        if request.done:
            conn.request_sent()

    def _send(self) -> None:
        """Write the body bytes read since; once the request is all out, the read deadline runs."""
        request, conn = self.request, self.conn
        assert conn is not None
        if request.pending:
            conn.send(request.take())
        if request.done:
            conn.request_sent()

    # upstream_connection.ResponseSink: the node's answer

    def relay_head(self, status: int, head: bytes, keep_alive: bool) -> None:
        """The node's answer head, as it came: passed on with only the lines the client's connection needs."""
        assert self.route is not None and self.upstream is not None
        self.upstream.answered()
        self.state = RELAYING
        client, request = self.client, self.request
        client_keep_alive = request.keep_alive and not client.closing
        out, self.body = relay_response_head(
            status, head, no_body=request.method == b"HEAD" or status in NO_BODY_STATUSES,
            client_http11=request.http11, keep_alive=client_keep_alive, set_cookie=self.route.set_cookie,
        )  # fmt: skip
        self._head_out(out, client_keep_alive, status)
        if self.body is not NO_BODY and is_event_stream(head):
            self._follow_stream()

    def response_head(self, status: int, reason: bytes, headers: Headers, keep_alive: bool) -> None:
        assert self.route is not None and self.upstream is not None
        self.upstream.answered()
        self.state = RELAYING
        client, request = self.client, self.request
        no_body = request.method == b"HEAD" or status in NO_BODY_STATUSES
        client_keep_alive = request.keep_alive and not client.closing
        out, self.body = response_head(
            status, reason, headers, no_body=no_body, client_http11=request.http11,
            keep_alive=client_keep_alive, set_cookie=self.route.set_cookie,
        )  # fmt: skip
        self._head_out(out, client_keep_alive, status)
        if self.body is not NO_BODY and declares_event_stream(headers):
            self._follow_stream()

    def _follow_stream(self) -> None:
        """An event stream: swept with the tunnels (idle timeout, end of a drain, rebalance) while it lasts."""
        proxy, upstream = self.client.proxy, self.upstream
        assert upstream is not None
        self.stream = EventStream(self, upstream, proxy.clock, proxy.tunnels.discard)
        proxy.tunnels.add(self.stream)

    def end_stream(self) -> None:
        """The balancer ends an event stream: its last chunk (or the close, for a close-delimited body) goes out,
        the node connection is dropped, and the client connection closes, so the client reconnects."""
        if self.state is not RELAYING:
            return
        if self.body is CHUNKED:
            self._out.append(CHUNK_END)
        self.client.closing = True
        if self._out:
            self.client.write(b"".join(self._out))
            self._out.clear()
        self._leave_node(reusable=False)
        self._answered()

    def _head_out(self, out: bytes, client_keep_alive: bool, status: int) -> None:
        client = self.client
        if self.body is UNTIL_CLOSE or not client_keep_alive:
            client.closing = True
        self._out.append(out)
        if client.access_log:
            client.log_access(self.request, status)

    def response_body(self, data: bytes) -> None:
        if self.stream is not None:
            self.stream.active()
        body = self.body
        if body is CHUNKED:
            self._out.append(chunk(data))
        elif body is not NO_BODY:
            self._out.append(data)

    def response_flush(self, ended: bool) -> None:
        out = self._out
        if ended and self.body is CHUNKED:
            out.append(CHUNK_END)
        if out:
            self.client.write(out[0] if len(out) == 1 else b"".join(out))
            out.clear()
        if ended:  # not reusable after an early answer (the node did not get the whole body) or a refused upgrade
            self._leave_node(reusable=self.request.done and self.request.upgrade is None)
            self._answered()

    def response_upgrade(self, reason: bytes, headers: Headers, rest: bytes) -> None:
        """The node switched protocols: its 101 goes to the client, and the two connections become a tunnel."""
        conn, upstream, route = self.conn, self.upstream, self.route
        if self.request.upgrade is None or conn is None or upstream is None or route is None:  # an unasked-for 101
            return self.upstream_failed(UpstreamError(BAD_RESPONSE))
        self.conn, self.upstream, self.state = None, None, DONE
        upstream.switched_protocols()
        self.client.log_access(self.request, 101)
        head, protocol = upgrade_head(reason, headers, set_cookie=route.set_cookie)
        self.client.start_tunnel(conn, upstream, head, websocket=b"websocket" in protocol, first=rest)

    def upstream_writable(self, writable: bool) -> None:
        if writable:
            self.client.resume_reading(NODE_FULL)
        else:
            self.client.pause_reading(NODE_FULL)

    def upstream_failed(self, error: UpstreamError) -> None:
        """The node could not give a (complete) answer: retry, answer with an error, or cut the client off."""
        upstream = self.upstream
        assert upstream is not None
        self._out.clear()
        self._leave_node(reusable=False)
        upstream.failed()
        failure = error.failure
        if self.state is RELAYING:  # the head went out: a truncated body must not pass for a whole one
            log.warning("upstream %s failed mid-response: %s", upstream.url, failure.reason)
            self.state = DONE
            self.client.cut_off()
            return
        log.warning("upstream %s: %s", upstream.url, failure.reason)
        if error.unreachable:
            self.client.proxy.router.registry.mark_down(upstream, failure.reason)
        if self._replayable(error) and self.attempts < 2:
            self.failure, self.excluded = failure, upstream
            self._route()
        else:
            self._answer_error(failure)

    def _replayable(self, error: UpstreamError) -> bool:
        """Nothing reached a node that could not be connected to; a body-less idempotent request can be replayed."""
        request = self.request
        if error.unreachable:
            return True
        has_body = request.forwarded is not None and request.forwarded.has_body
        return error.failure is DISCONNECTED and request.method in IDEMPOTENT and not has_body

    # Ending

    def _leave_node(self, *, reusable: bool) -> None:
        """Stop using the node: return or drop the connection, and count the request out of in-flight."""
        conn, self.conn = self.conn, None
        if conn is not None:
            if reusable:
                self.client.proxy.pool.release(conn)
            else:
                conn.close()
            self.client.resume_reading(NODE_FULL)
        upstream, self.upstream = self.upstream, None
        if upstream is not None:
            upstream.request_ended()
        stream, self.stream = self.stream, None
        if stream is not None:
            stream.ended()

    def _answered(self) -> None:
        """The answer is out: end now, or once the rest of the request body has been read and dropped (so the
        connection stays usable)."""
        proxy = self.client.proxy
        proxy.service_times.record(proxy.clock() - self._began)
        if self.request.done:
            self.state = DONE
            self.client.exchange_done(self)
        else:
            self.state = DRAINING
            self.request.drop_body()

    def _answer_locally(self) -> None:
        request = self.request
        body = request.take() if request.body_size <= MAX_OWN_BODY else None
        answer = self.client.proxy.own(LocalRequest(request.method, request.target, request.headers, body))
        if isinstance(answer, tuple):
            self.send_own(answer)
        else:  # an answer that waits on something (a runtime add waits for its health check)
            self.state = CONNECTING
            self._connecting = asyncio.ensure_future(_send_when_made(self, answer))  # referenced while it runs

    def send_own(self, answer: LocalAnswer) -> None:
        """Send an answer the balancer made itself, and end the exchange."""
        request, client = self.request, self.client
        close = client.closing or not request.keep_alive
        client.write(message(*answer, close=close, head_only=request.method == b"HEAD"))
        client.log_access(request, answer[0])
        self.state = DONE
        client.exchange_done(self)

    def _answer_error(self, failure: Failure) -> None:
        self.client.send_error(failure, close=not self.request.keep_alive)
        self.client.log_access(self.request, failure.status)
        self._answered()


async def _connect(exchange: Exchange, upstream: Upstream) -> None:
    """A new connection to `upstream` for `exchange`, handed back to the pool if the exchange no longer wants it."""
    pool = exchange.client.proxy.pool
    try:
        conn = await pool.connect(upstream.url)
    except UpstreamError as error:
        if exchange._still_connecting(upstream):
            exchange.upstream_failed(error)
        return
    if exchange._still_connecting(upstream):
        exchange._bind(conn)
    else:
        pool.release(conn)


async def _send_when_made(exchange: Exchange, answer: Awaitable[LocalAnswer]) -> None:
    """The balancer's own answer that waits on something: sent once made, unless the client left meanwhile."""
    made = await answer
    if exchange.state is CONNECTING:  # else abandoned
        exchange.send_own(made)

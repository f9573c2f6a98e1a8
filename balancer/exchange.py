"""One request and its answer, from the moment its turn comes to the answer's last byte.

An exchange is in exactly one `State` at a time. It asks the router for a node, takes a kept-alive or new node
connection, sends the request (the head, then the body as it arrives), relays the answer to its client, and
gives the connection back. Every failure of the node goes through `upstream_failed`: retry once elsewhere when
nothing reached a node (or a body-less idempotent request was cut off), else answer with a JSON error, or cut the
client off when part of the answer is already out.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable

from balancer.answer_relay import (
    CONNECTING,
    DONE,
    DRAINING,
    NODE_FULL,
    RELAYING,
    ROUTING,
    SENDING,
    AnswerRelay,
)
from balancer.errors import DISCONNECTED, NO_HEALTHY, Failure, UpstreamError
from balancer.http1 import (
    CONTINUE,
    IDEMPOTENT,
    message,
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


class Exchange(AnswerRelay):
    """One request forwarded to a node (or answered by the balancer) and its answer relayed."""

    __slots__ = ("client", "request", "route", "excluded", "attempts", "failure", "_connecting", "_began")

    def __init__(self, client: ClientSide, request: Request) -> None:
        super().__init__()
        self.client = client
        self.request = request
        self.route: Route | None = None
        self.excluded: Upstream | None = None  # the node that failed the first attempt
        self.attempts = 0
        self.failure: Failure | None = None  # why the previous attempt failed
        self._connecting: asyncio.Future[None] | None = None
        self._began = 0.0  # when its turn came (forwarded requests): the balancer's own time counts from here

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

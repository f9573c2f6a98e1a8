"""The node's answer on its way to the client: its head rewritten for the client's connection, its body framed,
an event stream followed, a 101 turned into a tunnel. The half of an exchange that upstream_connection.py's
ResponseSink calls; the other half (balancer/exchange.py) routes and sends the request and ends the exchange."""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

from balancer.errors import BAD_RESPONSE, UpstreamError
from balancer.event_stream import EventStream, is_event_stream
from balancer.http1 import CHUNK_END, CHUNKED, NO_BODY, NO_BODY_STATUSES, UNTIL_CLOSE, Headers, chunk, upgrade_head
from balancer.raw_heads import relay_response_head

if TYPE_CHECKING:
    from balancer.ports import ClientSide
    from balancer.reader import Request
    from balancer.routing import Route
    from balancer.upstream_connection import UpstreamConnection
    from balancer.upstreams import Upstream

NODE_FULL = "the node is not taking the body as fast as it comes"  # why the client connection stops reading


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


class AnswerRelay:
    """The answer half of an exchange: what it relays, and how it frames it."""

    __slots__ = ("body", "_out", "stream", "state", "upstream", "conn")

    client: ClientSide
    request: Request
    route: Route | None

    def __init__(self) -> None:
        self.state = WAITING
        self.upstream: Upstream | None = None  # the node this exchange counts as in flight on
        self.conn: UpstreamConnection | None = None
        self.body = NO_BODY  # how the answer's body is framed for the client
        self._out: list[bytes] = []  # answer bytes gathered during one read from the node
        self.stream: EventStream | None = None  # an event-stream answer being relayed (swept like a tunnel)

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

    # what the exchange half provides

    def upstream_failed(self, error: UpstreamError) -> None:
        raise NotImplementedError

    def _leave_node(self, *, reusable: bool) -> None:
        raise NotImplementedError

    def _answered(self) -> None:
        raise NotImplementedError

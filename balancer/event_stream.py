"""An answer that does not end: a server-sent event stream (`text/event-stream`), followed like a tunnel.

It is a plain HTTP answer, so no 101 makes it a tunnel, yet it lives as long as one: a drained node's streams would
stay on it until the node itself ends them, and a rebalance after a scale-out would move only the WebSockets.
While one is being relayed it sits in the proxy's `Tunnels` beside the upgraded connections, so the same sweep
applies the idle timeout, the end of a drain and the rebalance to it. Ending one is ending the answer: the last
chunk (or, for a close-delimited body, the close) tells the client the stream is over, and an EventSource
reconnects on its own, through the balancer, to a node that takes new clients.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from balancer.upstreams import Upstream

EVENT_STREAM = b"text/event-stream"


class EndableAnswer(Protocol):
    """The exchange relaying the stream: it can end its answer early, cleanly framed."""

    def end_stream(self) -> None: ...


class EventStream:
    """One event stream being relayed from `upstream`: when it last carried bytes, and how to end it."""

    __slots__ = ("exchange", "upstream", "last_active", "closed", "_clock", "_on_closed")

    def __init__(self, exchange: EndableAnswer, upstream: Upstream, clock: Callable[[], float],
                 on_closed: Callable[[EventStream], None]) -> None:  # fmt: skip
        self.exchange = exchange
        self.upstream = upstream
        self._clock = clock
        self.last_active = clock()
        self.closed = False
        self._on_closed = on_closed

    def active(self) -> None:
        self.last_active = self._clock()

    def ended(self) -> None:
        """The answer ended (the node ended it, or it failed): forget it."""
        if not self.closed:
            self.closed = True
            self._on_closed(self)

    def close(self) -> None:
        """End the stream from the balancer (idle too long, drained, rebalanced): the client sees it end."""
        if not self.closed:
            self.ended()
            self.exchange.end_stream()

    going_away = close  # no close frame in an event stream: its end is what tells the client to reconnect


def is_event_stream(head: bytes) -> bool:
    """Whether a raw answer head declares an event stream. The media type is matched as servers send it, in lower
    case: lowering every answer's head to catch a `Text/Event-Stream` would cost each request for a case no
    server in the lab (or in aiohttp, Node, Go, Spring) produces."""
    return head.find(EVENT_STREAM) >= 0  # (not `in`: on CPython 3.11 that first tries the argument as an integer)

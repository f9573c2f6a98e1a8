"""One kept-alive connection to a node: it writes the request bytes it is given, parses the node's answer with
httptools, hands the pieces to the exchange that holds it, and owns the answer's read deadline.

The read deadline: once the request is sent in full, each wait for the node's next bytes may last `read_timeout`
(not counted while reading is paused because the client is slow). The pool's sweep calls `check_deadline`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Protocol

import httptools

from balancer.errors import BAD_RESPONSE, DISCONNECTED, TIMEOUT, UpstreamError
from balancer.http1 import NO_BODY_STATUSES, Headers, log_if_bug
from balancer.raw_heads import framed_by_length, parse_response_head


class ResponseSink(Protocol):
    """The exchange holding a connection: told about the answer as it is parsed, and about failures. It gets the
    node's head as it came (status line to blank line): most heads are passed on unchanged (balancer/raw_heads.py)."""

    def relay_head(self, status: int, head: bytes, keep_alive: bool) -> None: ...
    def response_body(self, data: bytes) -> None: ...
    def response_flush(self, ended: bool) -> None: ...
    def upstream_failed(self, error: UpstreamError) -> None: ...
    def upstream_writable(self, writable: bool) -> None: ...
    def response_upgrade(self, reason: bytes, headers: Headers, rest: bytes) -> None: ...


class Splice(Protocol):
    """The tunnel a connection belongs to after the node's 101: it gets the node's bytes unparsed."""

    def from_node(self, data: bytes) -> None: ...
    def node_eof(self) -> None: ...
    def node_writable(self, writable: bool) -> None: ...
    def close(self) -> None: ...


class UpstreamConnection(asyncio.Protocol):
    """One connection to a node, used by one exchange at a time."""

    __slots__ = (
        "url", "transport", "sink", "reusable", "last_read", "idle_since", "reading_paused", "_on_lost", "_clock",
        "_armed", "_parser", "_status", "_head", "_buffer", "_awaiting_head", "_no_body", "_ended",
        "_new_parser",
        "splice",
    )  # fmt: skip

    def __init__(self, on_lost: Callable[[UpstreamConnection], None], url: str, clock: Callable[[], float]) -> None:
        self.url = url
        self.transport: asyncio.Transport | None = None
        self.sink: ResponseSink | None = None
        self.splice: Splice | None = None  # after a 101: the tunnel (never back in the pool)
        self.reusable = True  # False once anything makes the next response's start uncertain
        self.last_read = self.idle_since = 0.0
        self.reading_paused = False
        self._on_lost = on_lost  # the pool forgets this connection (a callback: the pool owns it)
        self._clock = clock
        self._armed = False  # the read deadline runs (the request has been sent in full)
        self._parser = httptools.HttpResponseParser(self)
        self._status = 0
        self._head = b""  # the current answer's raw head, status line to blank line
        self._buffer = b""  # the bytes read since the answer's head began (while `_awaiting_head`)
        self._awaiting_head = False
        self._no_body = self._ended = self._new_parser = False

    @property
    def open(self) -> bool:
        return self.transport is not None and not self.transport.is_closing()

    def attach(self, sink: ResponseSink, *, head_request: bool) -> None:
        """An exchange takes the connection; the answer to HEAD announces a length but has no body."""
        self.sink = sink
        self._no_body = head_request
        self._status = 0
        self._armed = False
        self._buffer, self._awaiting_head = b"", True

    def detach(self) -> None:
        self.sink = None
        self._armed = False

    def send(self, data: bytes) -> None:
        self.transport.write(data)  # type: ignore[union-attr]

    def request_sent(self) -> None:
        """The whole request is out: the read deadline starts now (once per request)."""
        if not self._armed:
            self._armed = True
            self.last_read = self._clock()

    def check_deadline(self, now: float, timeout: float) -> None:
        """Fail the exchange with a 504 when the node has been silent too long while an answer is due."""
        if self._armed and not self.reading_paused and self.sink is not None and now - self.last_read > timeout:
            self.sink.upstream_failed(UpstreamError(TIMEOUT))

    def pause_reading(self) -> None:
        if not self.reading_paused and self.transport is not None:
            self.reading_paused = True
            self.transport.pause_reading()

    def resume_reading(self) -> None:
        """Read again; the read deadline counts from now (the wait was the client's, not the node's)."""
        if self.reading_paused and self.transport is not None:
            self.reading_paused = False
            self.last_read = self._clock()
            self.transport.resume_reading()

    def close(self) -> None:
        """Drop the connection (mid-message, or its state is unknown): the node sees it close."""
        self.reusable = False
        self.detach()
        if self.transport is not None:
            self.transport.abort()

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        splice = self.splice
        if splice is not None:
            splice.from_node(data)
            return
        sink = self.sink
        if sink is None:  # nobody asked: the connection's state is unknown
            self.close()
            return
        self.last_read = self._clock()
        if self._awaiting_head:  # the head is passed on as it came: keep its bytes until it is complete
            self._buffer = self._buffer + data if self._buffer else data
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade as upgrade:  # a 101 with Connection: upgrade: the rest is a tunnel's
            self.reusable = False
            if self._status == 101:
                reason, headers = parse_response_head(self._head)
                sink.response_upgrade(reason, headers, data[upgrade.args[0] :])
            else:
                sink.upstream_failed(UpstreamError(BAD_RESPONSE))
            return
        except httptools.HttpParserError as exc:
            log_if_bug(exc)
            self.reusable = False
            sink.upstream_failed(UpstreamError(BAD_RESPONSE))
            return
        ended, self._ended = self._ended, False
        if self._new_parser:  # a body-less answer ended at its head: the old parser would wait for a body
            self._new_parser = False
            self._parser = httptools.HttpResponseParser(self)
        sink.response_flush(ended)

    def eof_received(self) -> bool | None:
        self.reusable = False
        if self.splice is not None:
            self.splice.node_eof()
            return True  # the other direction may still carry bytes
        return None  # close; connection_lost tells the sink

    def connection_lost(self, exc: Exception | None) -> None:
        self.reusable = False
        self._on_lost(self)
        if self.splice is not None:
            self.splice.close()
            return
        sink = self.sink
        self.detach()
        if sink is None:
            return
        if self._status and not self._awaiting_head and self._until_close():
            sink.response_flush(True)  # a body without length ends when the node closes
        else:
            sink.upstream_failed(UpstreamError(DISCONNECTED))

    def pause_writing(self) -> None:
        if self.splice is not None:
            self.splice.node_writable(False)
        elif self.sink is not None:
            self.sink.upstream_writable(False)

    def resume_writing(self) -> None:
        if self.splice is not None:
            self.splice.node_writable(True)
        elif self.sink is not None:
            self.sink.upstream_writable(True)

    # httptools callbacks

    # (No on_message_begin: `attach` resets the answer's state, and `_awaiting_head` holds until the final head.)

    def on_headers_complete(self) -> None:
        status = self._status = self._parser.get_status_code()
        buffer = self._buffer
        end = buffer.find(b"\r\n\r\n") + 4  # llhttp ends every line in CRLF: the first blank line ends the head
        self._head = buffer[:end]
        sink = self.sink
        if status < 200 or sink is None:  # an interim answer (100, 103): the real one follows
            self._buffer = buffer[end:]
            return
        self._awaiting_head, self._buffer = False, b""
        keep_alive = self._parser.should_keep_alive()
        if not keep_alive:
            self.reusable = False
        sink.relay_head(status, self._head, keep_alive)
        if self._no_body or status in NO_BODY_STATUSES:
            self._ended = self._new_parser = True

    def on_body(self, data: bytes) -> None:
        if self.sink is not None and not self._ended:
            self.sink.response_body(data)

    def on_message_complete(self) -> None:
        if self._status >= 200 and not self._new_parser:
            self._ended = True

    def _until_close(self) -> bool:
        """Whether the current answer's body is delimited by the connection closing (no length, not chunked)."""
        if self._no_body or self._status < 200 or self._status in NO_BODY_STATUSES:
            return False
        return not framed_by_length(self._head)

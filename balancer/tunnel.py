"""A tunnel: after a node's `101 Switching Protocols`, the client's and the node's sockets spliced byte for byte.

Neither side's bytes are parsed or buffered beyond the transports' own write buffers: when one side's buffer is
full, reading from the other side pauses (the same back-pressure as for answers). The tunnel ends when either side
closes; an end-of-stream is passed on as a half-close. For a WebSocket, the node-to-client stream is followed at
the level of frame boundaries only, so that the balancer can put a close frame 1001 (going away) in it when it
must end the tunnel itself (a drained node's time is up, the balancer stops): clients then reconnect.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Protocol

from balancer.upstream_connection import UpstreamConnection
from balancer.upstreams import Upstream

log = logging.getLogger("balancer.proxy")

GOING_AWAY = b"\x88\x02\x03\xe9"  # an unmasked (server-to-client) close frame, code 1001
FRAME_WAIT = 1.0  # how long the end of the node's current frame is awaited before closing without a close frame
FLUSH_WAIT = 5.0  # after the tunnel ends, how long a side that reads nothing may keep the balancer's unsent bytes


class TunnelClient(Protocol):
    """The client connection a tunnel runs on."""

    transport: asyncio.Transport | None

    def pause_reading(self, reason: str) -> None: ...

    def resume_reading(self, reason: str) -> None: ...


NODE_FULL = "the node is not taking the tunnel's bytes as fast as they come"


class FrameBoundaries:
    """Follows a WebSocket byte stream from frame header to frame header, without reading payloads."""

    __slots__ = ("_left", "_head")

    def __init__(self) -> None:
        self._left = 0  # payload bytes of the current frame still to come
        self._head = b""  # the start of a frame header split across reads

    @property
    def between_frames(self) -> bool:
        return not self._left and not self._head

    def advance(self, data: bytes, *, stop: bool = False) -> int:
        """Follow `data`; with `stop`, only up to the first point between two frames. How many bytes were taken."""
        pos, size = 0, len(data)
        while pos < size:
            if stop and self.between_frames:
                return pos
            if self._left:
                step = min(self._left, size - pos)
                self._left -= step
                pos += step
                continue
            head = self._head + data[pos : pos + 14]
            need = header_size(head)
            if need is None or len(head) < need:
                self._head, pos = head, size  # incomplete: the rest of it is in the next read
                continue
            pos += need - len(self._head)
            self._head, self._left = b"", payload_size(head)
        return pos


def header_size(head: bytes) -> int | None:
    """The length of the frame header that `head` starts (None when even its second byte is missing)."""
    if len(head) < 2:
        return None
    length = head[1] & 0x7F
    return 2 + (2 if length == 126 else 8 if length == 127 else 0) + (4 if head[1] & 0x80 else 0)


def payload_size(head: bytes) -> int:
    length = head[1] & 0x7F
    if length == 126:
        return int.from_bytes(head[2:4], "big")
    if length == 127:
        return int.from_bytes(head[2:10], "big")
    return length


class Tunnel:
    """One spliced client and node connection, from the node's 101 until either side closes."""

    __slots__ = ("client", "conn", "upstream", "frames", "last_active", "closed", "_clock", "_on_closed", "_eofs",
                 "_going_away", "_client_ended")  # fmt: skip

    def __init__(
        self,
        client: TunnelClient,
        conn: UpstreamConnection,
        upstream: Upstream,
        *,
        websocket: bool,
        clock: Callable[[], float],
        on_closed: Callable[[Tunnel], None],
    ) -> None:
        self.client = client
        self.conn = conn
        self.upstream = upstream
        self.frames = FrameBoundaries() if websocket else None
        self._clock = clock
        self.last_active = clock()
        self.closed = False
        upstream.tunnel_started()
        conn.detach()  # no answer is due on it any more: no read deadline
        self._on_closed = on_closed  # the proxy forgets it (a callback: the proxy owns the tunnels)
        self._eofs = 0  # sides that half-closed
        self._going_away = False  # a close frame is due at the end of the node's current frame
        self._client_ended = False  # the node half-closed, and so did the balancer toward the client
        conn.splice = self

    def from_client(self, data: bytes) -> None:
        if not self.closed:
            self.last_active = self._clock()
            self.conn.send(data)

    def from_node(self, data: bytes) -> None:
        if self.closed:
            return
        self.last_active = self._clock()
        frames = self.frames
        if frames is not None:
            taken = frames.advance(data, stop=self._going_away)
            if self._going_away and frames.between_frames:  # the close frame goes in right after this frame
                self._client_write(data[:taken])
                self._send_going_away()
                return
        self._client_write(data)

    def client_eof(self) -> None:
        self._half_closed(self.conn.transport)

    def node_eof(self) -> None:
        self._client_ended = True
        self._half_closed(self.client.transport)

    def node_writable(self, writable: bool) -> None:
        if writable:
            self.client.resume_reading(NODE_FULL)
        else:
            self.client.pause_reading(NODE_FULL)

    def close(self) -> None:
        """End both sides: what was written still goes out, then each connection closes."""
        if self.closed:
            return
        self.closed = True
        self.upstream.tunnel_ended()
        self._on_closed(self)
        self.conn.splice = None
        for transport in (self.client.transport, self.conn.transport):
            if transport is not None:
                transport.close()  # after what was written is sent, however slowly; a peer that reads nothing:
                if transport.get_write_buffer_size():
                    asyncio.get_running_loop().call_later(FLUSH_WAIT, transport.abort)

    def going_away(self) -> None:
        """End the tunnel because the balancer must: a WebSocket client gets a close frame 1001 first (once the
        node's current frame is through), so it reconnects."""
        if self.closed or self._going_away:
            return
        if self.frames is None or self.frames.between_frames or self._client_ended:
            self._send_going_away()
            return
        self._going_away = True
        asyncio.get_running_loop().call_later(FRAME_WAIT, self.close)

    def _send_going_away(self) -> None:
        if self.frames is not None:
            self._client_write(GOING_AWAY)
        self.close()

    def _client_write(self, data: bytes) -> None:
        transport = self.client.transport
        if data and transport is not None and not transport.is_closing() and not self._client_ended:
            transport.write(data)

    def _half_closed(self, other: asyncio.Transport | None) -> None:
        """One side sent its last byte: tell the other side, and end once both have."""
        self._eofs += 1
        if self._eofs >= 2 or other is None or not other.can_write_eof():
            self.close()
        elif not other.is_closing():
            other.write_eof()

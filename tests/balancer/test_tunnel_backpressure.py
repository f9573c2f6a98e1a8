"""Back-pressure in a tunnel: a reader that does not keep up stops the sender instead of filling the balancer's
memory. Measured in bytes the balancer holds, never in time."""

from __future__ import annotations

import asyncio
import base64
import os
import socket

import aiohttp

from balancer.client import ClientConnection
from tests.balancer.support import eventually
from tests.balancer.tunnels import WsNode

MIB = 1024 * 1024
FLOOD_MIB = 48  # far more than the kernel buffers on the way can hold
READ_WAIT = 30.0  # seconds one read may wait while the other test worker loads both cores
MAX_BUFFERED = MIB  # what the balancer may hold for one tunnel: its transports' high-water marks, with room


async def small_buffer_connection(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A client socket with a small receive buffer, so the kernel absorbs little of what the balancer sends."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
    return await asyncio.open_connection(sock=sock, limit=64 * 1024)


def tunnel_connection(balancer) -> ClientConnection:  # type: ignore[no-untyped-def]
    proxy = balancer.app._proxy
    return next(conn for conn in proxy.connections if conn.tunnel is not None)


async def test_a_slow_client_pauses_the_node_instead_of_growing_the_balancer(start_nodes, start_balancer) -> None:
    node = WsNode()
    balancer = await start_balancer(await start_nodes(1, node.routes()))
    reader, writer = await small_buffer_connection(balancer.port)
    try:
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write(f"GET /flood?mib={FLOOD_MIB} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
                     f"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: {key}\r\n\r\n".encode())  # fmt: skip
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        assert head.startswith(b"HTTP/1.1 101 ")
        await eventually(lambda: tunnel_connection(balancer).tunnel.conn.reading_paused, what="the node paused")
        conn = tunnel_connection(balancer)
        assert conn.transport.get_write_buffer_size() <= MAX_BUFFERED
        assert node.sent < FLOOD_MIB * MIB // 2  # the node is held back, not read into memory
        received = len(head) - len(head)
        while chunk := await asyncio.wait_for(reader.read(MIB), READ_WAIT):  # now read it all: nothing was lost
            received += len(chunk)
            assert conn.transport.get_write_buffer_size() <= MAX_BUFFERED
    finally:
        writer.close()  # also when it fails: a socket left open would fail a later test of this worker
    assert received > FLOOD_MIB * MIB  # every message, with its frame headers


async def test_a_slow_node_pauses_the_client_instead_of_growing_the_balancer(
    start_nodes, start_balancer, client
) -> None:
    node = WsNode()
    nodes = await start_nodes(1, node.routes())
    balancer = await start_balancer(nodes)
    ws = await client().ws_connect(f"{balancer.url}/sink", max_msg_size=0)
    block = b"y" * 256 * 1024
    sent = 0

    async def send() -> None:
        nonlocal sent
        for _ in range(FLOOD_MIB * 4):
            await ws.send_bytes(block)
            sent += len(block)

    sender = asyncio.create_task(send())
    await eventually(lambda: "the node is not taking the tunnel's bytes as fast as they come"
                     in tunnel_connection(balancer)._paused, within=20, what="the client paused")  # fmt: skip
    tunnel = tunnel_connection(balancer).tunnel
    assert tunnel.conn.transport.get_write_buffer_size() <= MAX_BUFFERED
    assert sent < FLOOD_MIB * MIB // 2
    node.release.set()
    await asyncio.wait_for(sender, 30)
    await eventually(lambda: node.received == FLOOD_MIB * MIB, within=20, what="every byte reached the node")
    await ws.close()
    assert isinstance(ws, aiohttp.ClientWebSocketResponse)

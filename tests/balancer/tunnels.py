"""Upstream routes for the tunnel tests: a WebSocket that greets, echoes and closes on request, an upgrade the node
refuses, and an event stream whose second event waits for the test."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import aiohttp
from aiohttp import web


def port_of(request: web.Request) -> int:
    """Which node answered: its listening port (every FakeNode shares these routes)."""
    transport = request.transport
    assert transport is not None
    return int(transport.get_extra_info("sockname")[1])


@dataclass
class WsNode:
    """What the routes saw: close codes from clients, bytes sent to and read from the socket."""

    closes: list[int | None] = field(default_factory=list)
    sent: int = 0
    received: int = 0
    release: asyncio.Event = field(default_factory=asyncio.Event)  # lets the event stream's second event go

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/ws", self.websocket),
            web.get("/ws-refused", self.refused),
            web.get("/events", self.events),
            web.get("/flood", self.flood),
            web.get("/sink", self.sink),
        ]

    async def websocket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_str(f"hello {port_of(request)}")
        async for message in ws:
            if message.type != aiohttp.WSMsgType.TEXT:
                continue
            if message.data == "close-me":
                await ws.close(code=4000, message=b"asked")
            else:
                await ws.send_str(f"echo {message.data}")
        self.closes.append(ws.close_code)
        return ws

    async def refused(self, request: web.Request) -> web.Response:
        return web.json_response({"error": "no upgrade for you"}, status=403)

    async def events(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await response.prepare(request)
        await response.write(f"id: 1\ndata: first from {port_of(request)}\n\n".encode())
        await self.release.wait()
        await response.write(b"id: 2\ndata: second\n\n")
        await response.write_eof()
        return response

    async def flood(self, request: web.Request) -> web.WebSocketResponse:
        """Send `?mib=` MiB of binary messages as fast as the connection takes them."""
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        block = b"x" * 256 * 1024
        for _ in range(int(request.query["mib"]) * 4):
            await ws.send_bytes(block)
            self.sent += len(block)
        await ws.close()
        return ws

    async def sink(self, request: web.Request) -> web.WebSocketResponse:
        """Read nothing until released, then count what arrives."""
        ws = web.WebSocketResponse(max_msg_size=0)
        await ws.prepare(request)
        await self.release.wait()
        async for message in ws:
            if message.type == aiohttp.WSMsgType.BINARY:
                self.received += len(message.data)
        return ws

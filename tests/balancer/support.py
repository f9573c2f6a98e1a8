"""Test helpers for the balancer: small real upstream servers, polling with a deadline, a bare HTTP client."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer
from multidict import CIMultiDict

from tests.support import eventually

__all__ = ["eventually"]  # re-exported: the balancer tests import their helpers from here


@dataclass
class Seen:
    """One request as an upstream received it."""

    method: str
    raw_path: str
    headers: CIMultiDict[str]
    body: bytes


@dataclass
class FakeNode:
    """A real aiohttp upstream: answers any path with its id (header `X-Node-Id` and JSON) and records requests.

    Extra routes registered before `start` take precedence over the catch-all.
    """

    node_id: str
    routes: Sequence[web.RouteDef] = ()
    seen: list[Seen] = field(default_factory=list)
    healthy: bool = True  # /healthz answers 503 when False
    health_checks: int = 0
    server: TestServer | None = None
    url: str = ""  # set once started; stays valid after the server is closed

    async def start(self, aiohttp_server: Callable[..., Awaitable[TestServer]], port: int | None = None) -> None:
        """(Re)start the node, on `port` if given (a restart keeps its URL)."""
        self.server = await aiohttp_server(self.app(), port=port)
        self.url = f"http://127.0.0.1:{self.server.port}"

    async def stop(self) -> None:
        """Stop listening and close every connection, as a crash would look from outside."""
        assert self.server is not None
        await self.server.close()

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/healthz", self._healthz)
        app.router.add_routes(self.routes)
        app.router.add_route("*", "/{tail:.*}", self._any)
        return app

    async def _healthz(self, request: web.Request) -> web.Response:
        self.health_checks += 1
        status = 200 if self.healthy else 503
        return web.Response(text="ok" if self.healthy else "down", status=status, headers={"X-Node-Id": self.node_id})

    async def _any(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.seen.append(Seen(request.method, request.raw_path, CIMultiDict(request.headers), body))
        return web.json_response({"node": self.node_id, "path": request.raw_path}, headers={"X-Node-Id": self.node_id})


@dataclass
class RawResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def get(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key.lower() == name.lower()]


class RawHttp:
    """A bare HTTP/1.1 connection, for what a client library would hide or change (exact request bytes,
    hop-by-hop headers, whether a body follows a HEAD/204/304)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def connect(cls, port: int, host: str = "127.0.0.1") -> RawHttp:
        return cls(*await asyncio.open_connection(host, port))

    async def exchange(self, head: str, body: bytes = b"", *, expect_body: bool = True) -> RawResponse:
        """Send a request (`head` without the final blank line) and read one response."""
        self.writer.write(head.replace("\n", "\r\n").encode() + b"\r\n\r\n" + body)
        await self.writer.drain()
        return await self.read_response(expect_body=expect_body)

    async def read_response(self, *, expect_body: bool = True) -> RawResponse:
        head = await asyncio.wait_for(self.reader.readuntil(b"\r\n\r\n"), 5)
        while head.startswith(b"HTTP/1.1 1"):  # an interim response (100 Continue): the real one follows
            head = await asyncio.wait_for(self.reader.readuntil(b"\r\n\r\n"), 5)
        status_line, *lines = head.decode("latin-1").rstrip("\r\n").split("\r\n")
        headers = [(key.strip(), value.strip()) for key, _, value in (line.partition(":") for line in lines)]
        response = RawResponse(int(status_line.split()[1]), headers, b"")
        if expect_body:
            response.body = await self._read_body(response)
        return response

    async def _read_body(self, response: RawResponse) -> bytes:
        if "chunked" in ",".join(response.get("Transfer-Encoding")).lower():
            chunks = []
            while size := int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16):
                chunks.append(await self.reader.readexactly(size + 2))
            await self.reader.readuntil(b"\r\n")
            return b"".join(chunk[:-2] for chunk in chunks)
        if length := response.get("Content-Length"):
            return await asyncio.wait_for(self.reader.readexactly(int(length[0])), 5)
        return await asyncio.wait_for(self.reader.read(), 5)

    async def close(self) -> None:
        self.writer.close()
        await self.writer.wait_closed()


class RawUpstream:
    """A bare asyncio upstream that answers /healthz itself and hands every other request head to `handle`."""

    def __init__(self) -> None:
        self.connections = 0
        self._server: asyncio.Server | None = None

    async def start(self) -> Any:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"

    async def handle(self, head: bytes, writer: asyncio.StreamWriter) -> bool:
        """Answer one request head; False closes the connection."""
        raise NotImplementedError

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while head := await reader.readuntil(b"\r\n\r\n"):
                if head.split(b" ")[1].startswith(b"/healthz"):
                    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                    await writer.drain()
                elif not await self.handle(head, writer):
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


class HangUpServer(RawUpstream):
    """An upstream that reads a request and closes the connection without answering (except on /healthz)."""

    def __init__(self) -> None:
        super().__init__()
        self.requests = 0

    async def handle(self, head: bytes, writer: asyncio.StreamWriter) -> bool:
        self.requests += 1
        return False


def node_ids(responses: Sequence[Any]) -> list[str]:
    return [response.headers["X-Node-Id"] for response in responses]

"""A bare HTTP/1.1 keep-alive client for the open-loop sender: one connection, one request in flight, httptools.

The sender's cost per request is what bounds the capacity a one-machine lab can measure, so the client does
only what a session user needs: write a request, parse the answer (status, headers, Set-Cookie, body) with
httptools, reconnect when the server closed. No redirects, no decompression, no pooling: each user owns its
connection and sends its requests in order, as a browser tab or an app does on one keep-alive connection.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httptools

TIMEOUT_S = 10.0  # an answer slower than this is an error (status 0), as a locust request timeout is


@dataclass
class Answer:
    """One HTTP answer: status (0: none came), lower-cased headers (last one wins), every Set-Cookie, body."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    set_cookies: list[str] = field(default_factory=list)
    body: bytes = b""

    def json(self) -> Any:
        try:
            return json.loads(self.body or b"null")
        except ValueError:
            return None


class _Protocol(asyncio.Protocol):
    """Feeds the bytes to httptools and completes the waiting request's future with its Answer."""

    def __init__(self) -> None:
        self.parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self.waiter: asyncio.Future[Answer] | None = None
        self.answer = Answer(0)
        self.body: list[bytes] = []
        self.header_name = b""
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as error:
            self._fail(ConnectionError(f"bad HTTP answer: {error}"))
            if self.transport is not None:
                self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._fail(ConnectionError("connection closed before the answer"))

    def _fail(self, error: Exception) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(error)

    def on_message_begin(self) -> None:
        self.answer, self.body = Answer(0), []

    def on_header(self, name: bytes, value: bytes) -> None:
        key, text = name.decode("latin-1").lower(), value.decode("latin-1")
        if key == "set-cookie":
            self.answer.set_cookies.append(text)
        else:
            self.answer.headers[key] = text

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        self.answer.status = self.parser.get_status_code()
        self.answer.body = b"".join(self.body)
        if not self.parser.should_keep_alive():
            self.closed = True
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(self.answer)


class Connection:
    """One user's keep-alive connection to `base_url` (http only), opened on first use and after a close."""

    def __init__(self, base_url: str) -> None:
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.host_header = f"{self.host}:{self.port}".encode()
        self.protocol: _Protocol | None = None

    async def _open(self) -> _Protocol:
        if self.protocol is None or self.protocol.closed:
            loop = asyncio.get_running_loop()
            _, protocol = await loop.create_connection(_Protocol, self.host, self.port)
            self.protocol = protocol
        return self.protocol

    async def request(self, method: str, path: str, headers: dict[str, str], body: bytes = b"") -> Answer:
        """Send one request and wait for its answer; raises ConnectionError or TimeoutError when none came."""
        protocol = await self._open()
        lines = b"".join(f"{k}: {v}\r\n".encode("latin-1") for k, v in headers.items())
        head = b"%s %s HTTP/1.1\r\nHost: %s\r\n%sContent-Length: %d\r\n\r\n" % (
            method.encode(), path.encode(), self.host_header, lines, len(body))  # fmt: skip
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[Answer] = loop.create_future()
        protocol.waiter = waiter
        assert protocol.transport is not None
        protocol.transport.write(head + body)
        timer = loop.call_later(TIMEOUT_S, _expire, waiter)
        try:
            return await waiter
        except BaseException:
            self.close()  # the connection's state is unknown: never reuse it
            raise
        finally:
            timer.cancel()

    def close(self) -> None:
        if self.protocol is not None and self.protocol.transport is not None:
            self.protocol.transport.close()
        self.protocol = None


def _expire(waiter: asyncio.Future[Answer]) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError(f"no answer within {TIMEOUT_S:g}s"))


class CookieJar:
    """The cookies a browser keeps for one host: name -> value, dropped when a Set-Cookie expires them."""

    def __init__(self) -> None:
        self.cookies: dict[str, str] = {}

    def update(self, set_cookies: list[str]) -> None:
        for line in set_cookies:
            pair, _, attributes = line.partition(";")
            name, _, value = pair.strip().partition("=")
            lowered = attributes.lower().replace(" ", "")
            if "max-age=0" in lowered or "max-age=-" in lowered or "1970" in lowered:
                self.cookies.pop(name, None)
            elif name:
                self.cookies[name] = value  # verbatim, quotes and all, as a browser sends it back

    def header(self) -> dict[str, str]:
        return {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())} if self.cookies else {}

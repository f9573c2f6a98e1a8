"""Reading a client's requests: the httptools parser, the head limits, and the forwarded head for each request.

`RequestReader.feed` takes the bytes of one read and returns what they completed: the requests whose head
arrived and, when the input cannot be read any further, the refusal to answer with. The reader decides nothing
else: what to do with a request is the client connection's business.
"""

from __future__ import annotations

import posixpath
from typing import NamedTuple
from urllib.parse import unquote_to_bytes

import httptools

from balancer.errors import BAD_REQUEST, HEAD_TOO_LARGE, Failure
from balancer.http1 import (
    CHUNK_END,
    ForwardedRequest,
    Headers,
    chunk,
    forward_request,
    head_refusal,
    origin_form,
)
from balancer.http1 import log_if_bug as _log_if_bug
from balancer.raw_heads import forward_raw_head
from nodes.contract.names import BALANCER_PREFIX, REPLICATION_PREFIX

OWN_PREFIX = BALANCER_PREFIX.encode()  # never proxied: the balancer answers these itself
# Node-to-node replication: refused here (404 from the balancer's own endpoints), never proxied to a node.
REFUSED_PREFIX = REPLICATION_PREFIX.encode()
_UNPROXIED = (OWN_PREFIX, REFUSED_PREFIX)
_UNPROXIED_BARE = (OWN_PREFIX[:-1], REFUSED_PREFIX[:-1])  # `/_balancer` and `/_replication` themselves
# Byte values, not one-byte strings: on CPython 3.11 `b"_" in data` first tries the argument as an integer, and
# building and clearing that TypeError made the test ten times dearer than `95 in data` (0.15 against 0.016 µs).
_UNDERSCORE, _PERCENT = ord("_"), ord("%")
MAX_HEAD = 64 * 1024  # request line and headers
MAX_OWN_BODY = 64 * 1024  # the balancer's own endpoints take small JSON bodies only


def is_unproxied_path(target: bytes) -> bool:
    """Is this target under /_balancer/ or /_replication/ as a node would route it? Such requests are the balancer's
    to answer, never proxied. Nodes route on the decoded path, so `/%5Fbalancer/`, `//_replication/` and
    `/x/../_balancer/` count too (decoded only when they might: the common path pays one partition and three
    substring scans). Only the canonical spelling names one of the balancer's endpoints; the others find none and
    are its 404, like every /_replication/ path."""
    if _UNDERSCORE not in target and _PERCENT not in target:  # the common path: two scans
        return False
    path = target.partition(b"?")[0]
    if b"%" in path or b"/." in path or b"//" in path:
        path = posixpath.normpath(unquote_to_bytes(path)).lstrip(b"/")
        path = b"/" + path + (b"/" if path else b"")
    return path.startswith(_UNPROXIED) or path in _UNPROXIED_BARE


class Request:
    """One parsed request: its head, and the body bytes not yet taken by whoever handles it."""

    __slots__ = ("target", "headers", "method", "http11", "keep_alive", "forwarded", "local", "pending", "done",
                 "discard", "body_size", "upgrade")  # fmt: skip

    def __init__(self) -> None:
        self.target = b""
        self.headers: Headers = []
        self.method = b""
        self.http11 = self.keep_alive = True
        self.forwarded: ForwardedRequest | None = None  # the rewritten head (None for the balancer's own paths)
        self.local = False  # one of the balancer's own endpoints
        self.pending: list[bytes] = []  # body bytes (re-framed if chunked) not yet taken
        self.done = False  # the whole request has been read
        self.discard = False  # the rest of the body is read and dropped (it was answered early)
        self.body_size = 0
        self.upgrade: bytes | None = None  # the Upgrade header forwarded (a body-less HTTP/1.1 upgrade request)

    def take(self) -> bytes:
        """The body bytes read since the last call."""
        pending = self.pending
        data = pending[0] if len(pending) == 1 else b"".join(pending)
        pending.clear()
        return data

    def drop_body(self) -> None:
        """Read what is left of the body, but drop it (the request was answered before its end)."""
        self.discard = True
        self.pending.clear()


LocalAnswer = tuple[int, Headers, bytes]  # status, headers, body of an answer the balancer makes itself


def upgrade_token(request: Request) -> bytes | None:
    """The protocols a request asks to switch to, when the balancer may pass that on: HTTP/1.1, not CONNECT (this
    is not a forward proxy), and no body (the tunnel starts right after the head)."""
    if not request.http11 or request.method == b"CONNECT":
        return None
    values = []
    for name, value in request.headers:
        lowered = name.lower()
        if lowered == b"upgrade":
            values.append(value.strip())
        elif lowered == b"transfer-encoding" or (lowered == b"content-length" and value.strip() != b"0"):
            return None
    return b", ".join(values) or None


class LocalRequest(NamedTuple):
    """A request for one of the balancer's own endpoints, read whole."""

    method: bytes
    target: bytes  # path and query
    headers: Headers
    body: bytes | None  # None: over MAX_OWN_BODY

    @property
    def path(self) -> bytes:
        return self.target.partition(b"?")[0]


class Refused(httptools.HttpParserError):
    """Raised from a parser callback to stop parsing: the head must not be forwarded."""

    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.reason)
        self.failure = failure


class RequestReader:
    """Parses one client connection's byte stream into `Request`s, enforcing the head limits."""

    def __init__(self, client_ip: bytes, hidden_cookie: str | None, session_header: bytes) -> None:
        self._client_ip = client_ip
        self._hidden_cookie = hidden_cookie
        self._session_header = session_header
        self._parser = httptools.HttpRequestParser(self)
        self.current: Request | None = None  # the request whose bytes are being read
        self.in_head = False
        self.finished = False  # no further request is read: after `Connection: close`, a refusal or an upgrade
        self.unread_input = False  # the client may still be sending bytes that will never be read
        self.upgrading: Request | None = None  # an upgrade request: what follows it waits for the node's 101
        self.tunnel_input = b""  # the bytes after an upgrade request's head: the tunnel's first, if the node agrees
        self._heads: list[Request] = []
        self._head_bytes = 0  # the current head's completed fields
        self._head_read = 0  # bytes of reads made entirely inside the current head (bounds an unfinished line)
        self._completed = 0  # requests read to their end
        self._last: Request | None = None  # the last request whose head was read
        # The bytes from the start of the head being read, when known: a read that begins between requests, and the
        # bytes after a body-less request's head. The common head is forwarded from them (http1.forward_raw_head).
        self._raw: bytes | None = None
        self._xff_lines = b"X-Forwarded-For: %b\r\nX-Forwarded-Proto: http\r\n" % client_ip

    def feed(self, data: bytes) -> tuple[list[Request], Failure | None]:
        """Parse one read: the requests whose head it completed, in order (their bodies keep arriving into them),
        and the refusal to answer with when the input cannot be read any further."""
        if self.finished:
            if self.upgrading is not None:  # held until the node answers the upgrade (reading is paused meanwhile)
                self.tunnel_input += data
            return [], None
        head_before = self.current if self.in_head else None
        completed_before = self._completed
        refusal = None
        if self.current is None:  # the read starts between two requests
            self._raw = data
        elif self.in_head:
            if self._raw is not None:
                self._raw += data
        else:  # inside a body: where the next head starts is not tracked
            self._raw = None
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade as upgrade:  # what follows the request is another protocol
            self.finished = self.unread_input = True
            if self._last is not None and self._last.upgrade is not None:
                self.upgrading = self._last
                self.tunnel_input = data[upgrade.args[0] :]
        except httptools.HttpParserError as exc:
            refusal = self._refusal(exc)
        heads = self._heads
        if heads:  # a new list only when this one is handed out
            self._heads = []
        if refusal is None and self.in_head and self._head_too_large(len(data), head_before, completed_before):
            refusal = HEAD_TOO_LARGE
        if refusal is not None:
            self._stop()
        return heads, refusal

    def _refusal(self, exc: httptools.HttpParserError) -> Failure | None:
        """What to answer to input the parser stopped at (None: nothing, it came after the last request)."""
        if self.finished:  # bytes after a `Connection: close` request are never processed
            self.unread_input = True
            return None
        cause = exc if isinstance(exc, Refused) else exc.__context__
        if isinstance(cause, Refused):
            return cause.failure
        _log_if_bug(exc)
        return BAD_REQUEST

    def _head_too_large(self, size: int, head_before: Request | None, completed_before: int) -> bool:
        """Whether the unfinished head is over the limit, counting whole reads that fell inside it (so that one
        endless line is bounded too)."""
        if self.current is head_before or self._completed == completed_before:  # the read is all head
            self._head_read += size
        return max(self._head_bytes, self._head_read) > MAX_HEAD

    def _stop(self) -> None:
        """Read nothing more: the request being read is dropped (it is not complete)."""
        self.finished = self.unread_input = True
        self.current = None
        self.in_head = False

    # httptools callbacks

    def on_message_begin(self) -> None:
        if self.finished:
            raise httptools.HttpParserError("a request after Connection: close")
        self.current = Request()
        self.in_head = True
        self._head_bytes = self._head_read = 0

    def on_url(self, url: bytes) -> None:
        self.current.target += url  # type: ignore[union-attr]
        self._head_bytes += len(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        if self.in_head:  # afterwards: trailer fields of a chunked body, dropped (hop-by-hop)
            self.current.headers.append((name, value))  # type: ignore[union-attr]
            self._head_bytes += len(name) + len(value) + 4

    def on_headers_complete(self) -> None:
        request = self.current
        assert request is not None
        self.in_head = False
        parser = self._parser
        request.method = method = parser.get_method()
        request.keep_alive = parser.should_keep_alive()
        head = self._raw_head(method)
        target = request.target
        if head is not None and target[:1] == b"/" and not is_unproxied_path(target) and not parser.should_upgrade():
            request.forwarded = forward_raw_head(
                method, head, xff_lines=self._xff_lines, hidden_cookie=self._hidden_cookie,
                session_header=self._session_header,
            )  # fmt: skip
            if request.forwarded is not None:  # (its request line says HTTP/1.1: `http11` keeps its default, True)
                if request.forwarded.has_body:
                    self._raw = None
                self._last = request
                self._heads.append(request)
                return
        self._raw = None
        # Asked only here: httptools formats the version as a string on each call (a tenth of this callback's time).
        request.http11 = parser.get_http_version() == "1.1"
        self._general_head(request, parser)
        self._last = request
        self._heads.append(request)

    def _raw_head(self, method: bytes) -> bytes | None:
        """The raw bytes of the head just parsed, when they are known (the rest stays in `_raw`)."""
        raw = self._raw
        if raw is None or not raw.startswith(method + b" "):
            return None
        end = raw.find(b"\r\n\r\n") + 4
        if end < 4:
            return None
        self._raw = raw[end:]
        return raw[:end]

    def _general_head(self, request: Request, parser: httptools.HttpRequestParser) -> None:
        """Check and rewrite a head field by field: every head the raw path does not take."""
        refusal = head_refusal(request.method, request.target, request.headers, self._head_bytes, MAX_HEAD)
        if refusal is not None:
            raise Refused(HEAD_TOO_LARGE if refusal == "too_large" else BAD_REQUEST)
        target = origin_form(request.target)
        if target is None:
            raise Refused(BAD_REQUEST)
        request.target = target
        if is_unproxied_path(target):
            request.local = True
        else:
            if parser.should_upgrade():
                request.upgrade = upgrade_token(request)
            request.forwarded = forward_request(
                request.method, target, request.headers, client_ip=self._client_ip,
                hidden_cookie=self._hidden_cookie, session_header=self._session_header, upgrade=request.upgrade,
            )  # fmt: skip
            if request.upgrade is not None:  # RFC 9110 7.8: answered on this connection, then it changes protocol
                request.keep_alive = False

    def on_body(self, data: bytes) -> None:
        request = self.current
        if request is None or request.discard:
            return
        if request.forwarded is not None:
            request.pending.append(chunk(data) if request.forwarded.chunked else data)
        elif request.body_size + len(data) <= MAX_OWN_BODY:  # an own endpoint's body: kept whole, up to a bound
            request.pending.append(data)
        request.body_size += len(data)

    def on_message_complete(self) -> None:
        request, self.current = self.current, None
        assert request is not None
        request.done = True
        self._completed += 1
        if not request.keep_alive:
            self.finished = True  # RFC 9112 9.6: no further request on this connection is processed
        if request.forwarded is not None and request.forwarded.chunked and not request.discard:
            request.pending.append(CHUNK_END)

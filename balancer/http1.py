"""HTTP/1.1 as an intermediary sees it: which headers are hop-by-hop, how the forwarded heads are written, how a
body is framed. Bytes in, bytes out: the data path never decodes what it only forwards.
"""

from __future__ import annotations

import enum
import logging
from http import HTTPStatus
from typing import Any, NamedTuple

import httptools

from balancer.cookies import without_cookie
from nodes.contract.names import HEAD_FIELDS_LIMIT, HEAD_LINE_LIMIT

log = logging.getLogger("balancer.http1")

Headers = list[tuple[bytes, bytes]]  # as received: original case, every repeat, in order

# RFC 9110 §7.6.1: meaningful for one connection only, never forwarded (plus whatever `Connection` names).
HOP_BY_HOP = frozenset(
    (b"connection", b"keep-alive", b"proxy-authenticate", b"proxy-authorization", b"proxy-connection", b"te")
    + (b"trailer", b"transfer-encoding", b"upgrade")
)
NEVER_HOP_BY_HOP = frozenset((b"content-length", b"host"))
IDEMPOTENT = frozenset((b"GET", b"HEAD", b"OPTIONS", b"TRACE", b"PUT", b"DELETE"))
NO_BODY_STATUSES = frozenset((204, 304))

CHUNK_END = b"0\r\n\r\n"
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
_CHUNKED = b"Transfer-Encoding: chunked\r\n"
_CLOSE = b"Connection: close\r\n"
_KEEP_ALIVE = b"Connection: keep-alive\r\n"
_PRIVATE = b"Cache-Control: private\r\n"


# Request headers the forwarder does something with besides passing them on (everything else goes as it came).
_HOST, _COOKIE, _FORWARDED_FOR, _CONTENT_LENGTH, _EXPECT = (
    b"host",
    b"cookie",
    b"x-forwarded-for",
    b"content-length",
    b"expect",
)
_CLIENT_CLAIMS = frozenset((b"x-forwarded-proto", b"x-forwarded-host", b"forwarded"))  # the balancer sets its own
_REQUEST_SPECIAL = HOP_BY_HOP | _CLIENT_CLAIMS | {_HOST, _COOKIE, _FORWARDED_FOR, _CONTENT_LENGTH, _EXPECT}


class Body(enum.Enum):
    """How a response body goes to the client."""

    NONE = 0  # HEAD, 204, 304: nothing follows the head
    RAW = 1  # bytes as they come (Content-Length framing)
    CHUNKED = 2  # each piece re-framed as a chunk (the node's chunks or a close-delimited body, to HTTP/1.1)
    UNTIL_CLOSE = 3  # bytes as they come, then the connection closes (a length-less body to an HTTP/1.0 client)


# Module-level names for the hot path: looking up an Enum member on its class costs ~5x a global (Python 3.11).
NO_BODY, RAW, CHUNKED, UNTIL_CLOSE = Body


class ForwardedRequest(NamedTuple):
    """The head that goes to a node, how the request's body is framed, and what routing may read from it."""

    head: bytes  # request line, headers and the blank line
    has_host: bool
    has_body: bool
    chunked: bool  # the body is chunked (re-framed chunk by chunk on the way through)
    expect_continue: bool
    cookie: str  # every Cookie header joined with "; " (for routing only)
    session_token: str | None


def hop_by_hop(lowered: list[bytes], headers: Headers) -> frozenset[bytes]:
    """The fixed hop-by-hop names plus every name this message's `Connection` headers list (lower case)."""
    if b"connection" not in lowered:
        return HOP_BY_HOP
    named = [
        token.strip().lower()
        for name, (_, value) in zip(lowered, headers, strict=True)
        if name == b"connection"
        for token in value.split(b",")
    ]
    # A `Connection` header never removes message framing or the Host: dropping Content-Length while the body is
    # still forwarded would let the body pass as the next request on a pooled node connection (smuggling).
    return HOP_BY_HOP.union(named).difference(NEVER_HOP_BY_HOP)


# What a node accepts (nodes.head_limits answers a JSON 431 beyond it, as the balancer does). The balancer refuses
# such heads itself, with its own JSON error, so they never reach a node.
NODE_MAX_LINE = HEAD_LINE_LIMIT
NODE_MAX_HEADERS = HEAD_FIELDS_LIMIT


def head_refusal(method: bytes, target: bytes, headers: Headers, head_bytes: int, max_head: int) -> str | None:
    """Why a parsed request head must not be forwarded: "too_large" (431), "invalid" (400), or None."""
    if head_bytes > max_head or len(headers) > NODE_MAX_HEADERS or len(target) + 16 > NODE_MAX_LINE:
        return "too_large"
    hosts = 0
    for name, value in headers:  # one pass: this runs for every request
        if len(name) + 2 + len(value) > NODE_MAX_LINE:
            return "too_large"
        if len(name) == 4 and name.lower() == b"host":
            hosts += 1
    if hosts > 1:  # RFC 9112 3.2: exactly one Host
        return "invalid"
    if target == b"*" and method != b"OPTIONS":  # RFC 9112 3.2.4: the asterisk form is for OPTIONS only
        return "invalid"
    return None


def origin_form(target: bytes) -> bytes | None:
    """Path and query exactly as sent; an absolute-form target (`http://host/p?q`) is reduced. None if invalid."""
    if target[:1] == b"/" or target == b"*":
        return target
    try:
        url: Any = httptools.parse_url(target)  # Any: its path and query are None when absent, unlike the stubs say
    except httptools.HttpParserInvalidURLError:
        return None
    path: bytes = url.path or b"/"
    return path + b"?" + url.query if url.query is not None else path


def forward_request(
    method: bytes,
    target: bytes,
    headers: Headers,
    *,
    client_ip: bytes,
    hidden_cookie: str | None,
    session_header: bytes,
    upgrade: bytes | None = None,
) -> ForwardedRequest:
    """The client's end-to-end headers (every repeat kept, in order) plus the balancer's X-Forwarded-*."""
    lowered = [name.lower() for name, _ in headers]
    dropped = hop_by_hop(lowered, headers)
    special = _REQUEST_SPECIAL | dropped if dropped is not HOP_BY_HOP else _REQUEST_SPECIAL
    lines = [b"%b %b HTTP/1.1\r\n" % (method, target)]
    forwarded_for: list[bytes] = []
    cookies: list[bytes] = []
    host = token = None
    has_body = chunked = expect_continue = False
    for lname, pair in zip(lowered, headers, strict=True):
        if lname == session_header:
            token = pair[1]
        if lname not in special:
            lines.append(b"%b: %b\r\n" % pair)
        elif lname in dropped:
            if lname == b"transfer-encoding":  # the parser lets only a final `chunked` through
                has_body = chunked = True
        elif lname == _HOST:
            host = pair[1]
            lines.append(b"%b: %b\r\n" % pair)
        elif lname == _COOKIE:
            cookies.append(pair[1])
            if hidden_cookie is None:
                lines.append(b"%b: %b\r\n" % pair)
        elif lname == _CONTENT_LENGTH:
            has_body = has_body or int(pair[1]) > 0  # the parser has checked that it is digits
            lines.append(b"%b: %b\r\n" % pair)
        elif lname == _FORWARDED_FOR:
            forwarded_for.append(pair[1])
        elif lname == _EXPECT:
            expect_continue = expect_continue or pair[1].lower() == b"100-continue"
    cookie = b"; ".join(cookies).decode("latin-1") if cookies else ""
    if hidden_cookie is not None and cookies:
        kept = without_cookie(cookie, hidden_cookie)
        if kept:
            lines.append(b"Cookie: %b\r\n" % kept.encode("latin-1"))
    forwarded_for.append(client_ip)
    lines.append(b"X-Forwarded-For: %b\r\nX-Forwarded-Proto: http\r\n" % b", ".join(forwarded_for))
    if host is not None:
        lines.append(b"X-Forwarded-Host: %b\r\n" % host)
    if chunked:
        lines.append(_CHUNKED)
    if upgrade is not None:  # the one hop-by-hop pair that is passed on: the node must agree to the switch
        lines.append(b"Connection: Upgrade\r\nUpgrade: %b\r\n" % upgrade)
    lines.append(b"\r\n")
    return ForwardedRequest(
        b"".join(lines),
        host is not None,
        has_body,
        chunked,
        expect_continue and has_body,
        cookie,
        None if token is None else token.decode("latin-1"),
    )


def with_host(head: bytes, host: bytes) -> bytes:
    """A forwarded head for a client that sent no Host (HTTP/1.0): HTTP/1.1 requires one."""
    return head[:-2] + b"Host: " + host + b"\r\n\r\n"


def response_head(
    status: int,
    reason: bytes,
    headers: Headers,
    *,
    no_body: bool,
    client_http11: bool,
    keep_alive: bool,
    set_cookie: str | None,
) -> tuple[bytes, Body]:
    """The node's status and end-to-end headers for the client, and how the body that follows is framed."""
    lowered = [name.lower() for name, _ in headers]
    dropped = hop_by_hop(lowered, headers)
    lines = [b"HTTP/1.1 %d %b\r\n" % (status, reason) if reason else status_line(status, reason)]
    lines += [b"%b: %b\r\n" % pair for lname, pair in zip(lowered, headers, strict=True) if lname not in dropped]
    if no_body:
        body = NO_BODY
    elif b"content-length" in lowered and b"transfer-encoding" not in lowered:
        body = RAW
    elif client_http11:
        body = CHUNKED
        lines.append(_CHUNKED)
    else:
        body, keep_alive = UNTIL_CLOSE, False
    if set_cookie is not None:
        lines.append(b"Set-Cookie: %b\r\n" % set_cookie.encode("latin-1"))
        if not _uncacheable(lowered, headers):  # like HAProxy's `nocache`: no shared cache hands the pin to others
            lines.append(_PRIVATE)
    if not keep_alive:
        lines.append(_CLOSE)
    elif not client_http11:
        lines.append(_KEEP_ALIVE)
    lines.append(b"\r\n")
    return b"".join(lines), body


def upgrade_head(reason: bytes, headers: Headers, *, set_cookie: str | None) -> tuple[bytes, bytes]:
    """The node's 101 for the client (end-to-end headers, then Connection and the node's Upgrade), and that
    Upgrade value (lower case)."""
    lowered = [name.lower() for name, _ in headers]
    dropped = hop_by_hop(lowered, headers)
    upgrade = b", ".join(value for lname, (_, value) in zip(lowered, headers, strict=True) if lname == b"upgrade")
    lines = [status_line(101, reason)]
    lines += [b"%b: %b\r\n" % pair for lname, pair in zip(lowered, headers, strict=True) if lname not in dropped]
    if set_cookie is not None:
        lines += [b"Set-Cookie: %b\r\n" % set_cookie.encode("latin-1"), _PRIVATE]
    lines.append(b"Connection: Upgrade\r\nUpgrade: %b\r\n\r\n" % upgrade)
    return b"".join(lines), upgrade.lower()


def _uncacheable(lowered: list[bytes], headers: Headers) -> bool:
    cache_control = b",".join(
        value for lname, (_, value) in zip(lowered, headers, strict=True) if lname == b"cache-control"
    ).lower()
    return any(directive in cache_control for directive in (b"private", b"no-store", b"no-cache"))


def chunk(data: bytes) -> bytes:
    """One chunk of a chunked body (RFC 9112 §7.1)."""
    return b"%x\r\n%b\r\n" % (len(data), data)


def status_line(status: int, reason: bytes) -> bytes:
    if not reason:
        try:
            reason = HTTPStatus(status).phrase.encode()
        except ValueError:
            reason = b"Unknown"
    return b"HTTP/1.1 %d %b\r\n" % (status, reason)


def message(status: int, headers: Headers, body: bytes, *, close: bool, head_only: bool = False) -> bytes:
    """A complete response the balancer writes itself (its own endpoints and its errors)."""
    lines = [status_line(status, b"")]
    lines += [b"%b: %b\r\n" % pair for pair in headers]
    lines.append(b"Content-Length: %d\r\n" % len(body))
    if close:
        lines.append(_CLOSE)
    lines.append(b"\r\n")
    if not head_only:
        lines.append(body)
    return b"".join(lines)


def log_if_bug(exc: httptools.HttpParserError) -> None:
    """A parser error raised from inside one of our own callbacks is a bug in the balancer, not bad input: say so."""
    cause = exc.__context__
    if isinstance(exc, httptools.HttpParserCallbackError) and not isinstance(cause, httptools.HttpParserError):
        log.error("internal error while handling a message", exc_info=cause)

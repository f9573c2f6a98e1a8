"""The raw-head fast paths: a head goes out as the client or node sent it, bar the lines the balancer must rewrite.

Most heads name no hop-by-hop or forwarding header: re-parsing them field by field to write them out again was a
sixth of the balancer's CPU per request (docs/bench.md, the profile). These functions forward such a head from its
raw bytes and hand any other head to the general path in http1.py, which stays the reference behaviour.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable

import httptools

from balancer.cookies import without_cookie
from balancer.http1 import (
    _CHUNKED,
    _CLIENT_CLAIMS,
    _CLOSE,
    _CONTENT_LENGTH,
    _COOKIE,
    _EXPECT,
    _FORWARDED_FOR,
    _HOST,
    _KEEP_ALIVE,
    CHUNKED,
    HOP_BY_HOP,
    NO_BODY,
    NODE_MAX_HEADERS,
    NODE_MAX_LINE,
    RAW,
    UNTIL_CLOSE,
    Body,
    ForwardedRequest,
    Headers,
    response_head,
)

# The raw-head fast paths below: a head goes out as the client or node sent it, bar the lines the balancer must
# rewrite, when none of its lines names a header that needs the general path. One regular expression per head finds
# the lines that matter (llhttp has checked that every line ends in CRLF and that no name has whitespace before
# its colon, so a header line is always `\r\n<name>:`).
_REQUEST_GENERAL = HOP_BY_HOP | _CLIENT_CLAIMS | {_FORWARDED_FOR, _EXPECT}


def _names_at_line_start(names: Iterable[bytes], after: bytes) -> re.Pattern[bytes]:
    """`\\n(name1|name2|...)` + `after`, the names matched without case. Each name is spelled as two alternatives
    whose first letter is a plain literal (`H(?i:ost)|h(?i:ost)`): sre rejects such an alternative with one
    comparison, where under re.IGNORECASE it enters every alternative at every line. The same matches for about
    60% of the instructions (callgrind: 9,000 -> 5,500 per response head, 9,000 -> 6,500 per request head)."""
    alternatives = []
    for name in sorted(names):
        first, rest = name[:1], re.escape(name[1:])
        for letter in sorted({first.upper(), first.lower()}):
            alternatives.append(re.escape(letter) + b"(?i:" + rest + b")")
    return re.compile(rb"\n(" + b"|".join(alternatives) + b")" + after)


_RESPONSE_LINES = _names_at_line_start(HOP_BY_HOP | {_CONTENT_LENGTH}, b":")
_FRAMING_LINE = re.compile(rb"\n(?:content-length|transfer-encoding):", re.IGNORECASE)
_request_lines_cache: dict[bytes, re.Pattern[bytes]] = {}


def _request_lines(session_header: bytes) -> re.Pattern[bytes]:
    """The pattern that finds, in a raw request head, each line the forwarder reads or that sends the head down
    the general path, as (name, value) pairs (one pattern per session-header name, made once)."""
    pattern = _request_lines_cache.get(session_header)
    if pattern is None:
        names = _REQUEST_GENERAL | {_HOST, _COOKIE, _CONTENT_LENGTH, session_header}
        pattern = _names_at_line_start(names, rb":[ \t]*([^\r]*)")
        _request_lines_cache[session_header] = pattern
    return pattern


_COOKIE_LINES: dict[tuple[str, str], bytes] = {}


def _cookie_line_without(cookie: str, hidden: str) -> bytes:
    """The Cookie line that carries `cookie` minus the hidden cookie (none if nothing is left). A client sends the
    same Cookie header with each request of its session: the rewrite is remembered (up to 4,096 headers)."""
    line = _COOKIE_LINES.get((cookie, hidden))
    if line is None:
        if len(_COOKIE_LINES) >= 4096:
            _COOKIE_LINES.clear()
        kept = without_cookie(cookie, hidden)
        line = _COOKIE_LINES[cookie, hidden] = b"Cookie: %b\r\n" % kept.encode("latin-1") if kept else b""
    return line


def forward_raw_head(
    method: bytes, head: bytes, *, xff_lines: bytes, hidden_cookie: str | None, session_header: bytes
) -> ForwardedRequest | None:
    """`forward_request` for the common head, from its raw bytes: the head is passed on whole (its request line
    already says HTTP/1.1 and carries an origin-form target) with the balancer's X-Forwarded-* lines added, and the
    Cookie line rewritten only when it carries the hidden cookie. `xff_lines`: `X-Forwarded-For: <client>` and
    `X-Forwarded-Proto: http` (fixed per client connection). None: the head needs the general path (a hop-by-hop
    or forwarding header, a repeated Host, Cookie, Content-Length or session header, an unusual request line)."""
    line_end = head.find(b"\r\n")
    if head[line_end - 9 : line_end] != b" HTTP/1.1" or len(head) > NODE_MAX_LINE:  # (so no line is too long)
        return None
    host = cookie = length = token = None
    for name, value in _request_lines(session_header).findall(head):
        lname = name.lower()
        if lname == _HOST and host is None:
            host = value.rstrip(b" \t")
        elif lname == _COOKIE and cookie is None:
            cookie = value.rstrip(b" \t")
        elif lname == _CONTENT_LENGTH and length is None:
            length = value.rstrip(b" \t")
        elif lname == session_header and token is None:
            token = value.rstrip(b" \t")
        else:  # a repeat, or a header only the general path handles
            return None
    if head.count(b"\n") - 2 > NODE_MAX_HEADERS:
        return None
    cookie_text = cookie.decode("latin-1") if cookie is not None else ""
    if hidden_cookie is not None and cookie is not None and hidden_cookie in cookie_text:
        at = head.lower().find(b"\ncookie:") + 1
        rest = head.index(b"\r\n", at) + 2
        head = head[:at] + _cookie_line_without(cookie_text, hidden_cookie) + head[rest:]
    parts: tuple[bytes, ...]
    if host is None:
        parts = (head[:-2], xff_lines, b"\r\n")
    else:
        parts = (head[:-2], xff_lines, b"X-Forwarded-Host: ", host, b"\r\n\r\n")
    return ForwardedRequest(
        b"".join(parts),
        host is not None,
        length is not None and int(length) > 0,
        False,
        False,
        cookie_text,
        None if token is None else token.decode("latin-1"),
    )


def relay_response_head(
    status: int,
    head: bytes,
    *,
    no_body: bool,
    client_http11: bool,
    keep_alive: bool,
    set_cookie: str | None,
) -> tuple[bytes, Body]:
    """`response_head` from the node's raw head (status line to blank line): passed on as it came (its version said
    as HTTP/1.1) plus the framing and connection lines the client needs, when no hop-by-hop header is in it; else
    parsed again and rewritten field by field."""
    found = _RESPONSE_LINES.findall(head)
    if set_cookie is not None or head[12:13] != b" " or head.find(b"\r\n") < 14 or len(found) > 1 or (
        found and found[0].lower() != _CONTENT_LENGTH
    ):  # fmt: skip
        reason, headers = parse_response_head(head)
        return response_head(status, reason, headers, no_body=no_body, client_http11=client_http11,
                             keep_alive=keep_alive, set_cookie=set_cookie)  # fmt: skip
    if no_body:
        body, extra = NO_BODY, b""
    elif found:
        body, extra = RAW, b""
    elif client_http11:
        body, extra = CHUNKED, _CHUNKED
    else:
        body, extra, keep_alive = UNTIL_CLOSE, b"", False
    if not keep_alive:
        extra += _CLOSE
    elif not client_http11:
        extra += _KEEP_ALIVE
    if not extra and head.startswith(b"HTTP/1.1"):  # the common answer goes out as the very bytes that came
        return head, body
    return b"HTTP/1.1" + head[8:-2] + extra + b"\r\n", body


def framed_by_length(head: bytes) -> bool:
    """Whether a node's raw response head sets its body's length (Content-Length or Transfer-Encoding)."""
    return _FRAMING_LINE.search(head) is not None


class _HeadFields:
    """Collects a response head's reason and fields from httptools (the general path only)."""

    __slots__ = ("headers", "reason")

    def __init__(self) -> None:
        self.reason = b""
        self.headers: Headers = []

    def on_status(self, reason: bytes) -> None:
        self.reason += reason

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))


def parse_response_head(head: bytes) -> tuple[bytes, Headers]:
    """The reason phrase and fields of a response head already checked by the connection's parser."""
    fields = _HeadFields()
    with contextlib.suppress(httptools.HttpParserError, httptools.HttpParserUpgrade):  # a 101 ends in an upgrade
        httptools.HttpResponseParser(fields).feed_data(head)
    return fields.reason, fields.headers

"""The raw-head paths of balancer.http1 say what the field-by-field paths say, and step aside when they cannot."""

from __future__ import annotations

import httptools
import pytest

from balancer.http1 import (
    forward_request,
    response_head,
)
from balancer.raw_heads import forward_raw_head, parse_response_head, relay_response_head

XFF = b"X-Forwarded-For: 10.0.0.9\r\nX-Forwarded-Proto: http\r\n"


class Fields:
    def __init__(self) -> None:
        self.headers: list[tuple[bytes, bytes]] = []
        self.url = b""

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))


def parsed(head: bytes) -> tuple[bytes, bytes, list[tuple[bytes, bytes]]]:
    """Method, target and fields of a request head, as the balancer's own parser reads them."""
    fields = Fields()
    parser = httptools.HttpRequestParser(fields)
    parser.feed_data(head)
    return parser.get_method(), fields.url, fields.headers


def both(head: bytes, hidden: str | None):  # type: ignore[no-untyped-def]
    method, target, headers = parsed(head)
    raw = forward_raw_head(method, head, xff_lines=XFF, hidden_cookie=hidden, session_header=b"x-session-token")
    general = forward_request(method, target, headers, client_ip=b"10.0.0.9", hidden_cookie=hidden,
                              session_header=b"x-session-token")  # fmt: skip
    return raw, general


@pytest.mark.parametrize(
    ("head", "hidden"),
    [
        (b"GET /healthz HTTP/1.1\r\nHost: shop\r\n\r\n", None),
        (b"GET /me?x=1 HTTP/1.1\r\nHost: shop\r\nCookie: SL_SESSION=abc; SL_ROUTE=r1\r\nAccept: */*\r\n\r\n", None),
        (b"GET / HTTP/1.1\r\nhost: shop\r\ncookie: a=1; SL_ROUTE=r1 ; b=2\r\nX-Session-Token: tok\r\n\r\n", "SL_ROUTE"),
        (b"GET / HTTP/1.1\r\nHost: shop\r\nCookie: SL_ROUTE=only\r\n\r\n", "SL_ROUTE"),
        (b"POST /counter HTTP/1.1\r\nHost: shop\r\nContent-Length: 2\r\nContent-Type: application/json\r\n\r\n", None),
        (b"POST /counter HTTP/1.1\r\nContent-Length: 0\r\n\r\n", None),
    ],
)
def test_the_raw_path_forwards_what_the_field_by_field_path_forwards(head: bytes, hidden: str | None) -> None:
    raw, general = both(head, hidden)
    assert raw is not None
    assert raw[1:] == general[1:]  # host, body, framing, expect, routing cookie, session token
    raw_lines, general_lines = raw.head.split(b"\r\n"), general.head.split(b"\r\n")
    assert raw_lines[0] == general_lines[0] and raw.head.endswith(b"\r\n\r\n")
    assert sorted(raw_lines) == sorted(general_lines)  # the same fields (a hidden cookie's line may move)
    if hidden is not None:
        assert hidden.encode() not in raw.head


@pytest.mark.parametrize(
    "head",
    [
        b"GET / HTTP/1.0\r\nHost: shop\r\n\r\n",  # HTTP/1.0: the line is rewritten
        b"GET / HTTP/1.1\r\nHost: shop\r\nConnection: keep-alive, X-Secret\r\nX-Secret: 1\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: shop\r\nX-Forwarded-For: 1.2.3.4\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: shop\r\nforwarded: for=evil\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: shop\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: shop\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: shop\r\nCookie: a=1\r\nCookie: b=2\r\n\r\n",  # joined by the general path
        b"GET / HTTP/1.1\r\nHost: shop\r\nX-Session-Token: a\r\nx-session-token: b\r\n\r\n",
    ],
)
def test_heads_with_hop_by_hop_forwarding_or_repeated_fields_take_the_general_path(head: bytes) -> None:
    raw, _ = both(head, "SL_ROUTE")
    assert raw is None


NODE_HEAD = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\nX-Node-Id: n1\r\n"
    b"Content-Length: 38\r\nSet-Cookie: SL_SESSION=a; Path=/\r\nSet-Cookie: other=b\r\n\r\n"
)


@pytest.mark.parametrize(
    ("head", "options"),
    [
        (NODE_HEAD, {"no_body": False, "client_http11": True, "keep_alive": True, "set_cookie": None}),
        (NODE_HEAD, {"no_body": True, "client_http11": True, "keep_alive": False, "set_cookie": None}),
        (NODE_HEAD, {"no_body": False, "client_http11": False, "keep_alive": True, "set_cookie": None}),
        (NODE_HEAD, {"no_body": False, "client_http11": True, "keep_alive": True, "set_cookie": "SL_ROUTE=x"}),
        (
            b"HTTP/1.1 200 OK\r\nX-A: 1\r\n\r\n",
            {"no_body": False, "client_http11": True, "keep_alive": True, "set_cookie": None},
        ),  # fmt: skip
        (
            b"HTTP/1.1 200 OK\r\nX-A: 1\r\n\r\n",
            {"no_body": False, "client_http11": False, "keep_alive": True, "set_cookie": None},
        ),  # fmt: skip
        (
            b"HTTP/1.1 204 \r\nConnection: close, X-Hop\r\nX-Hop: 1\r\nKeep-Alive: timeout=5\r\n\r\n",
            {"no_body": True, "client_http11": True, "keep_alive": True, "set_cookie": None},
        ),  # fmt: skip
        (
            b"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
            {"no_body": False, "client_http11": True, "keep_alive": True, "set_cookie": None},
        ),  # fmt: skip
    ],
)
def test_a_relayed_answer_head_says_what_the_rewritten_one_says(head: bytes, options: dict) -> None:  # type: ignore[type-arg]
    status = int(head[9:12])
    reason, headers = parse_response_head(head)
    relayed, relayed_body = relay_response_head(status, head, **options)
    rewritten, rewritten_body = response_head(status, reason, headers, **options)
    assert relayed_body is rewritten_body
    relayed_lines, rewritten_lines = relayed.split(b"\r\n"), rewritten.split(b"\r\n")
    assert relayed_lines[0] == rewritten_lines[0] and relayed.endswith(b"\r\n\r\n")
    assert sorted(relayed_lines) == sorted(rewritten_lines)
    assert relayed.count(b"Set-Cookie: ") == rewritten.count(b"Set-Cookie: ")  # every repeat kept

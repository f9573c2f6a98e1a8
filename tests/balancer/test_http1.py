"""balancer.http1: what is hop-by-hop, which heads are refused, how heads are rewritten and bodies framed."""

from __future__ import annotations

import pytest

from balancer.http1 import (
    Body,
    chunk,
    forward_request,
    head_refusal,
    hop_by_hop,
    message,
    origin_form,
    response_head,
    with_host,
)


def forward(headers: list[tuple[bytes, bytes]], *, hidden: str | None = None) -> bytes:
    return forward_request(
        b"POST", b"/p?q=1", headers, client_ip=b"10.0.0.9", hidden_cookie=hidden, session_header=b"x-session-token"
    ).head


def test_connection_can_drop_any_header_but_the_framing_and_the_host() -> None:
    headers = [(b"Connection", b"X-Secret, Content-Length, Host"), (b"X-Secret", b"1")]
    dropped = hop_by_hop([name.lower() for name, _ in headers], headers)
    assert b"x-secret" in dropped and b"transfer-encoding" in dropped
    assert b"content-length" not in dropped and b"host" not in dropped


@pytest.mark.parametrize(
    ("method", "target", "headers", "expected"),
    [
        (b"GET", b"/", [(b"Host", b"a")], None),
        (b"GET", b"/", [(b"Host", b"a"), (b"host", b"b")], "invalid"),
        (b"GET", b"*", [(b"Host", b"a")], "invalid"),
        (b"OPTIONS", b"*", [(b"Host", b"a")], None),
        (b"GET", b"/" + b"a" * 8190, [], "too_large"),
        (b"GET", b"/", [(b"X-Long", b"v" * 8190)], "too_large"),
        (b"GET", b"/", [(b"X-%d" % i, b"1") for i in range(129)], "too_large"),
    ],
)
def test_heads_a_node_would_refuse_are_refused_here(method, target, headers, expected) -> None:
    assert head_refusal(method, target, headers, 100, 64 * 1024) == expected


def test_a_head_over_the_limit_is_too_large() -> None:
    assert head_refusal(b"GET", b"/", [], 64 * 1024 + 1, 64 * 1024) == "too_large"


def test_targets_keep_path_and_query_and_absolute_forms_are_reduced() -> None:
    assert origin_form(b"/a/../b?x=%20") == b"/a/../b?x=%20"
    assert origin_form(b"http://example.com:81/p?q=1") == b"/p?q=1"
    assert origin_form(b"http://example.com") == b"/"
    assert origin_form(b"\x00bad") is None


def test_the_forwarded_head_keeps_end_to_end_headers_and_sets_the_balancers_own() -> None:
    head = forward(
        [
            (b"Host", b"shop"),
            (b"X-Forwarded-For", b"1.2.3.4"),
            (b"X-Forwarded-Proto", b"https"),
            (b"Forwarded", b"for=evil"),
            (b"Keep-Alive", b"timeout=5"),
            (b"Content-Length", b"3"),
            (b"X-App", b"a"),
            (b"x-app", b"b"),
        ]
    )
    lines = head.split(b"\r\n")
    assert lines[0] == b"POST /p?q=1 HTTP/1.1"
    assert b"X-App: a" in lines and b"x-app: b" in lines and b"Content-Length: 3" in lines
    assert b"X-Forwarded-For: 1.2.3.4, 10.0.0.9" in lines
    assert b"X-Forwarded-Proto: http" in lines and b"X-Forwarded-Host: shop" in lines
    assert not any(line.lower().startswith((b"forwarded", b"keep-alive")) for line in lines)
    assert head.endswith(b"\r\n\r\n")


def test_the_hidden_cookie_never_reaches_the_node_but_routing_sees_it() -> None:
    forwarded = forward_request(
        b"GET", b"/", [(b"Cookie", b"SL_ROUTE=abc; a=1"), (b"X-Session-Token", b"tok")],
        client_ip=b"1.1.1.1", hidden_cookie="SL_ROUTE", session_header=b"x-session-token",
    )  # fmt: skip
    assert b"Cookie: a=1\r\n" in forwarded.head and b"SL_ROUTE" not in forwarded.head
    assert forwarded.cookie == "SL_ROUTE=abc; a=1" and forwarded.session_token == "tok"


def test_a_chunked_request_is_marked_and_reframed() -> None:
    forwarded = forward_request(
        b"POST", b"/", [(b"Transfer-Encoding", b"chunked")],
        client_ip=b"1.1.1.1", hidden_cookie=None, session_header=b"x-session-token",
    )  # fmt: skip
    assert forwarded.chunked and forwarded.has_body
    assert forwarded.head.count(b"Transfer-Encoding: chunked\r\n") == 1
    assert not forwarded.has_host
    assert with_host(forwarded.head, b"node:81").endswith(b"Host: node:81\r\n\r\n")


@pytest.mark.parametrize(
    ("headers", "http11", "expected_body", "expected_line"),
    [
        ([(b"Content-Length", b"2")], True, Body.RAW, None),
        ([(b"Transfer-Encoding", b"chunked")], True, Body.CHUNKED, b"Transfer-Encoding: chunked"),
        ([], True, Body.CHUNKED, b"Transfer-Encoding: chunked"),
        ([], False, Body.UNTIL_CLOSE, b"Connection: close"),
    ],
)
def test_the_answer_body_is_framed_for_the_client(headers, http11, expected_body, expected_line) -> None:
    head, body = response_head(
        200, b"OK", headers, no_body=False, client_http11=http11, keep_alive=True, set_cookie=None
    )
    assert body is expected_body
    if expected_line is not None:
        assert expected_line in head.split(b"\r\n")


def test_an_affinity_cookie_makes_the_answer_private_unless_it_already_is() -> None:
    head, _ = response_head(200, b"OK", [], no_body=True, client_http11=True, keep_alive=True, set_cookie="R=1")
    assert b"Set-Cookie: R=1\r\n" in head and b"Cache-Control: private\r\n" in head
    uncached = [(b"Cache-Control", b"no-store")]
    head, _ = response_head(200, b"OK", uncached, no_body=True, client_http11=True, keep_alive=True, set_cookie="R=1")
    assert b"Cache-Control: private" not in head


def test_chunks_and_own_messages() -> None:
    assert chunk(b"hello") == b"5\r\nhello\r\n"
    answer = message(404, [(b"X-A", b"1")], b"{}", close=True)
    assert answer.startswith(b"HTTP/1.1 404 Not Found\r\n")
    assert b"Content-Length: 2\r\n" in answer and b"Connection: close\r\n" in answer and answer.endswith(b"{}")
    assert message(200, [], b"body", close=False, head_only=True).endswith(b"Content-Length: 4\r\n\r\n")

"""balancer.reader: bytes in, parsed requests (or a refusal) out, whatever the reads' boundaries."""

from __future__ import annotations

from balancer.errors import BAD_REQUEST, HEAD_TOO_LARGE
from balancer.reader import MAX_HEAD, MAX_OWN_BODY, RequestReader


def reader() -> RequestReader:
    return RequestReader(b"10.0.0.1", "SL_ROUTE", b"x-session-token")


def test_pipelined_requests_come_out_in_order_with_their_bodies() -> None:
    heads, refusal = reader().feed(
        b"POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabcGET /b HTTP/1.1\r\nHost: h\r\n\r\n"
    )
    assert refusal is None
    first, second = heads
    assert (first.target, first.take(), first.done) == (b"/a", b"abc", True)
    assert (second.method, second.target, second.done) == (b"GET", b"/b", True)


def test_a_head_split_over_reads_comes_out_once_complete() -> None:
    requests = reader()
    assert requests.feed(b"GET /split HTTP/1.1\r\nHo") == ([], None)
    assert requests.in_head and requests.current is not None
    [request], _ = requests.feed(b"st: h\r\n\r\n")
    assert request.target == b"/split" and request.forwarded is not None


def test_a_chunked_body_is_reframed_as_it_arrives() -> None:
    requests = reader()
    [request], _ = requests.feed(b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n")
    assert request.take() == b"3\r\nabc\r\n" and not request.done
    requests.feed(b"0\r\n\r\n")
    assert request.take() == b"0\r\n\r\n" and request.done


def test_own_endpoints_are_marked_local_and_keep_a_small_body_whole() -> None:
    [request], _ = reader().feed(b"POST /_balancer/x HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}")
    assert request.local and request.forwarded is None and request.take() == b"{}"
    big = b"x" * (MAX_OWN_BODY + 1)
    [request], _ = reader().feed(b"POST /_balancer/x HTTP/1.1\r\nContent-Length: %d\r\n\r\n%b" % (len(big), big))
    assert request.body_size == len(big) and request.take() == b""


def test_malformed_input_is_refused_and_nothing_more_is_read() -> None:
    requests = reader()
    heads, refusal = requests.feed(b"GET / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n")
    assert refusal is BAD_REQUEST and not heads
    assert requests.finished and requests.unread_input
    assert requests.feed(b"GET / HTTP/1.1\r\n\r\n") == ([], None)


def test_a_head_that_never_ends_is_refused_past_the_limit() -> None:
    requests = reader()
    requests.feed(b"GET / HTTP/1.1\r\nX-Long: ")
    heads, refusal = requests.feed(b"a" * MAX_HEAD)
    assert refusal is HEAD_TOO_LARGE


def test_two_hosts_are_refused_from_inside_the_parser() -> None:
    heads, refusal = reader().feed(b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n")
    assert refusal is BAD_REQUEST and not heads


def test_nothing_after_connection_close_is_a_request() -> None:
    requests = reader()
    heads, refusal = requests.feed(b"GET /1 HTTP/1.1\r\nConnection: close\r\n\r\nGET /2 HTTP/1.1\r\n\r\n")
    assert [request.target for request in heads] == [b"/1"] and refusal is None
    assert requests.finished and requests.unread_input

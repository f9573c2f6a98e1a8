"""Request framing attacks through a real balancer to real nodes: header injection (CR, LF, NUL in names, values,
targets) and request smuggling (conflicting Content-Length / Transfer-Encoding). After every attack, a logged-in
user on the same node must read exactly its own session: the balancer and the node never disagree on where a
request ends.

Fast (CI): `.venv/bin/python -m pytest tests/fuzz -q`. Long (10,000+ cases):
`SESSIONLAB_FUZZ=long .venv/bin/python -m pytest tests/fuzz -q`.
"""

from __future__ import annotations

import json

from hypothesis import example, given
from hypothesis import strategies as st

from tests.fuzz.conftest import counted
from tests.fuzz.support import (
    FuzzCluster,
    Response,
    assert_clean,
)

nodes = st.sampled_from(["node-1", "node-2", "node-3"])
MARKER = "smuggled"  # the user name of every smuggled login: no answer to anybody else may contain it

INJECTIONS = [
    b"\r\n", b"\n", b"\r", b"\r\n\r\n", b"\x00", b"\r\n ", b"\r\n\t", b"\r\nX-Injected: 1", b"\nX-Injected: 1",
    b"\rX-Injected: 1", b"\r\nSet-Cookie: injected=1", b"\r\n\r\nGET /me HTTP/1.1\r\nX-Injected: 1\r\n\r\n",
    b"%0d%0aX-Injected:%201", b"\xc4\x8d\xc4\x8aX-Injected: 1", b"\x0bX-Injected: 1", b"\x0c", b"\x85", b"\xe2\x80\xa8",
    b" HTTP/1.1\r\nX-Injected: 1\r\n", b": ", b"\r\nContent-Length: 5\r\n\r\nhello",
]  # fmt: skip
PLACES = ["value", "name", "target", "method", "cookie", "token", "version"]


def injected_request(place: str, injection: bytes, route: str) -> bytes:
    """GET /me with `injection` in one part of the head; the rest is a normal request pinned to a node."""
    method, target, version = b"GET", b"/me", b"HTTP/1.1"
    name, value = b"X-Fuzz", b"a" + injection + b"b"
    cookie = f"SL_ROUTE={route}".encode()
    token = None
    if place == "name":
        name, value = b"X-" + injection + b"Fuzz", b"a"
    elif place == "target":
        target += injection
    elif place == "method":
        method += injection
    elif place == "cookie":
        cookie += b"; SL_SESSION=" + injection
    elif place == "token":
        token = b"t" + injection
    elif place == "version":
        version += injection
    head = [b"%b %b %b" % (method, target, version), b"Host: 127.0.0.1", b"Cookie: " + cookie, name + b": " + value]
    if token is not None:
        head.append(b"X-Session-Token: " + token)
    return b"\r\n".join([*head, b"Connection: close"]) + b"\r\n\r\n"


def assert_nothing_injected(answers: list[Response]) -> None:
    for answer in answers:
        names = {name for name, _ in answer.headers}
        assert "x-injected" not in names, "a header injected in the request came back in an answer"
        assert not [c for c in answer.headers_named("set-cookie") if "injected" in c], "an injected cookie was set"


@given(node=nodes, place=st.sampled_from(PLACES), injection=st.sampled_from(INJECTIONS), extra=st.binary(max_size=8))
@counted
def test_header_injection(fuzz: FuzzCluster, node: str, place: str, injection: bytes, extra: bytes) -> None:
    """CR, LF, NUL and friends in any part of a request head: rejected or harmless, and never a desync."""
    route = next(value for value, owner in fuzz.routes.items() if owner == node)
    sent = injected_request(place, injection + extra, route)
    answers = fuzz.send("sticky", sent)
    assert_clean(fuzz, sent, answers)
    assert_nothing_injected(answers)
    fuzz.assert_in_sync(node, sent)


def smuggled(kind: str) -> bytes:
    """What hides in a body: a whole request, a prefix waiting to capture the next user's request, or a GET."""
    if kind == "login":
        body = json.dumps({"user": MARKER}).encode()
        return b"POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: %d\r\n\r\n%b" % (len(body), body)
    if kind == "prefix":
        return b"POST /logout-all HTTP/1.1\r\nX-Pad: "
    return b"GET /me HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


def chunked(data: bytes) -> bytes:
    return b"%x\r\n%b\r\n0\r\n\r\n" % (len(data), data) if data else b"0\r\n\r\n"


BODIES = {
    "raw": lambda hidden: hidden,
    "chunked": chunked,  # a valid chunked body that contains the request
    "terminated-first": lambda hidden: b"0\r\n\r\n" + hidden,  # TE.CL: the chunked body ends before the request
    "chunk-ext": lambda hidden: b"%x;ext=1\r\n%b\r\n0\r\n\r\n" % (len(hidden), hidden),
    "lf-chunks": lambda hidden: b"%x\n%b\n0\n\n" % (len(hidden), hidden),
    "big-size": lambda hidden: b"fffffffffffffffffff\r\n" + hidden + b"\r\n0\r\n\r\n",
}
CL_NAMES = [
    b"Content-Length",
    b"content-length",
    b"CONTENT-LENGTH",
    b"Content_Length",
    b"Content-Length ",
    b" Content-Length",
]
TE_NAMES = [
    b"Transfer-Encoding",
    b"transfer-encoding",
    b"TRANSFER-ENCODING",
    b"Transfer_Encoding",
    b"Transfer-Encoding ",
]
TE_VALUES = [
    "chunked", "Chunked", "CHUNKED", " chunked", "chunked ", "chunked, chunked", "identity", "gzip, chunked",
    "chunked, gzip", "x-chunked", "\tchunked", "chunked;q=1", "", "chunked\x0b", "chunk", "identity, chunked",
]  # fmt: skip
CL_FORMS = ["{n}", "0", "{less}", "{more}", "+{n}", "-1", " {n}", "{n} ", "0{n}", "{n}, {n}", "{n},{less}", "0x{hex}",
            "1e2", "99999999999999999999", "", "{n}.0"]  # fmt: skip
# Which headers a Connection header may name (Content-Length included: it must never lose the body's framing).
CONNECTION_NAMES = [
    None,
    b"Content-Length",
    b"close",
    b"keep-alive",
    b"Transfer-Encoding",
    b"X-Pad",
    b"Host",
    b"Cookie",
    b"TE",
    b"Upgrade",
]

framing_header = st.one_of(
    st.tuples(st.just("cl"), st.sampled_from(CL_NAMES), st.sampled_from(CL_FORMS)),
    st.tuples(st.just("te"), st.sampled_from(TE_NAMES), st.sampled_from(TE_VALUES)),
)


def length_value(form: str, size: int) -> bytes:
    return form.format(n=size, less=max(0, size - 7), more=size + 9, hex=f"{size:x}").encode()


def is_name(name: bytes, wanted: bytes) -> bool:
    return name.lower() == wanted.lower()


@given(
    node=nodes,
    outer=st.sampled_from([b"POST /login", b"GET /healthz", b"POST /counter", b"DELETE /cart"]),
    framing=st.lists(framing_header, min_size=1, max_size=3),
    body_kind=st.sampled_from(sorted(BODIES)),
    hidden=st.sampled_from(["login", "prefix", "get"]),
    connection=st.sampled_from(CONNECTION_NAMES),
)
# The classic smuggling shapes run every time, whatever the profile draws.
@example(
    "node-1",
    b"POST /login",
    [("cl", b"Content-Length", "{less}"), ("te", b"Transfer-Encoding", "chunked")],
    "terminated-first",
    "prefix",
    None,
)  # CL.TE
@example(
    "node-2",
    b"POST /login",
    [("te", b"Transfer-Encoding", "chunked"), ("cl", b"Content-Length", "4")],
    "chunked",
    "login",
    None,
)  # TE.CL
@example(
    "node-3",
    b"GET /healthz",
    [("te", b"Transfer-Encoding", "chunked"), ("te", b"Transfer-Encoding", "x")],
    "chunked",
    "get",
    None,
)  # TE.TE
@example(
    "node-1",
    b"POST /counter",
    [("cl", b"Content-Length", "0"), ("cl", b"Content-Length", "{n}")],
    "raw",
    "prefix",
    None,
)  # CL.CL
@example("node-2", b"GET /healthz", [("cl", b"Content-Length", "{n}")], "raw", "prefix", b"Transfer-Encoding")
@example("node-3", b"POST /login", [("te", b"transfer-encoding", "chunked")], "chunked", "login", b"keep-alive")
@counted
def test_conflicting_framing_never_desyncs(
    fuzz: FuzzCluster,
    node: str,
    outer: bytes,
    framing: list[tuple[str, bytes, str]],
    body_kind: str,
    hidden: str,
    connection: bytes | None,
) -> None:
    """Content-Length and Transfer-Encoding in every conflicting combination: a clean 400 where they conflict, and
    the node never sees a request the balancer did not."""
    route = next(value for value, owner in fuzz.routes.items() if owner == node)
    body = BODIES[body_kind](smuggled(hidden))
    head = [outer + b" HTTP/1.1", b"Host: 127.0.0.1", b"Cookie: SL_ROUTE=" + route.encode()]
    lengths: list[bytes] = []
    encodings = 0
    for kind, name, form in framing:
        value = length_value(form, len(body)) if kind == "cl" else form.encode("latin-1")
        if kind == "cl" and is_name(name, b"content-length"):
            lengths.append(value)
        encodings += kind == "te" and is_name(name, b"transfer-encoding")
        head.append(name + b": " + value)
    if connection is not None:
        head.append(b"Connection: " + connection)
    sent = b"\r\n".join(head) + b"\r\n\r\n" + body
    answers = fuzz.send("sticky", sent)
    assert_clean(fuzz, sent, answers)
    if (encodings and lengths) or len(set(lengths)) > 1:
        assert answers and answers[0].status == 400, f"conflicting framing must be refused: {sent!r} -> {answers}"
        assert answers[0].header("x-balancer-error") == "bad_request"
    fuzz.assert_in_sync(node, sent)

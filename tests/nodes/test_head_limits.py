"""A request head over the limits, sent straight to a real node process: the balancer's JSON 431, with X-Node-Id and
no echo of the input (aiohttp's own parser would answer a text/plain 400 quoting the line)."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from loadtest.lab.launcher import child_env, launch_node
from loadtest.lab.probe import http_status
from loadtest.lab.processes import ManagedProcess, free_port
from nodes.contract.names import HEAD_TOO_LARGE_DETAIL, HEAD_TOO_LARGE_ERROR, NODE_ID_HEADER, SESSION_COOKIE

pytestmark = pytest.mark.timeout(60)
MARK = b"Q7Zx"  # repeated in the oversized input: it must not come back


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, ManagedProcess]]:
    port, logs = free_port(), Path(tmp_path_factory.mktemp("node"))
    process = launch_node("node-1", "127.0.0.1", port, logs, child_env())
    try:
        process.wait_ready(lambda: http_status(f"http://127.0.0.1:{port}/healthz") == 200, timeout=30)
        yield port, process
    finally:
        process.stop()


def exchange(port: int, head: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send one raw request head; the status, headers (lower-case names) and body of the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head + b"Connection: close\r\n\r\n")
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    top, _, body = data.partition(b"\r\n\r\n")
    status_line, *lines = top.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in lines)}
    return int(status_line.split()[1]), headers, body


def cookie_head(size: int) -> bytes:
    value = (MARK * (size // len(MARK) + 1))[:size]
    return b"GET / HTTP/1.1\r\nHost: node\r\nCookie: " + SESSION_COOKIE.encode() + b"=" + value + b"\r\n"


@pytest.mark.parametrize(
    "head",
    [
        cookie_head(10_000),  # the 10 KB cookie
        cookie_head(60_000),
        b"GET /" + MARK * 2300 + b" HTTP/1.1\r\nHost: node\r\n",  # a 9 KB request line
        b"GET / HTTP/1.1\r\nHost: node\r\n" + b"".join(b"X-%d: %b\r\n" % (i, MARK) for i in range(130)),
    ],
    ids=["10KB-cookie", "60KB-cookie", "9KB-url", "130-headers"],
)
def test_an_oversized_head_gets_the_balancers_json_431(node: tuple[int, ManagedProcess], head: bytes) -> None:
    status, headers, body = exchange(node[0], head)
    assert status == 431 and headers["content-type"].startswith("application/json")
    assert headers[NODE_ID_HEADER.lower()] == "node-1"
    assert json.loads(body) == {"error": HEAD_TOO_LARGE_ERROR, "detail": HEAD_TOO_LARGE_DETAIL}
    assert MARK not in body
    assert MARK.decode() not in node[1].log_tail(50)


def test_a_head_within_the_limits_is_served(node: tuple[int, ManagedProcess]) -> None:
    status, headers, body = exchange(node[0], cookie_head(8_000))
    assert status == 200 and json.loads(body) == {"node": "node-1", "session": "missing"}

"""SIGTERM drains a real node process: in-flight requests finish, new connections are refused, exit 0.

Requests are held in flight deterministically: each sends its head with `Expect: 100-continue` and waits for
the node's `100 Continue` (the handler is running then), and sends its body only after the SIGTERM.
"""

from __future__ import annotations

import asyncio
import json
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from loadtest.lab.launcher import child_env, launch_node
from loadtest.lab.probe import http_status
from loadtest.lab.processes import ManagedProcess, free_port

IN_FLIGHT = 100
CONNECT_BATCH = 20  # requests in flight add up batch by batch; each stays held until after the SIGTERM
Held = tuple[asyncio.StreamReader, asyncio.StreamWriter, bytes]


def start_node(port: int, name: str, log_dir: Path, shutdown_timeout: str) -> ManagedProcess:
    """A node named `name` (its NODE_ID), logging to <log_dir>/<name>.log."""
    env = child_env(NODE_SHUTDOWN_TIMEOUT=shutdown_timeout)
    node = launch_node(name, "127.0.0.1", port, log_dir, env)
    node.wait_ready(lambda: http_status(f"http://127.0.0.1:{port}/healthz") == 200, timeout=30)
    return node


@pytest.fixture
def nodes(tmp_path: Path) -> Iterator[list[ManagedProcess]]:
    started: list[ManagedProcess] = []
    yield started
    for node in started:
        node.stop()


LOGIN_HEAD = b"POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"


async def hold_login(port: int, user: str) -> Held:
    """A POST /login whose handler is running and waiting for the body."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    body = json.dumps({"user": user}).encode()
    writer.write(LOGIN_HEAD % len(body) + b"Expect: 100-continue\r\n\r\n")
    await writer.drain()
    interim = await reader.readuntil(b"\r\n\r\n")
    assert interim.startswith(b"HTTP/1.1 100"), interim
    return reader, writer, body


async def finish(held: Held) -> tuple[int, dict[str, object]]:
    """Send the body; the status and JSON answer."""
    reader, writer, body = held
    writer.write(body)
    await writer.drain()
    head, answer = await read_answer(reader)
    writer.close()
    return int(head.split()[1]), json.loads(answer)


async def read_answer(reader: asyncio.StreamReader) -> tuple[str, bytes]:
    """An answer's head (lower-cased) and its Content-Length body."""
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").lower()
    length = next(int(line.split(":")[1]) for line in head.split("\r\n") if line.startswith("content-length"))
    return head, await reader.readexactly(length)


async def refuses_connections(port: int, within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except (ConnectionRefusedError, ConnectionResetError):  # reset: the connect was queued as the listener closed
            return True
        writer.close()
        await asyncio.sleep(0.02)
    return False


async def test_sigterm_finishes_in_flight_requests_refuses_new_ones_and_exits_0(nodes, tmp_path) -> None:  # type: ignore[no-untyped-def]
    port = free_port()
    node = start_node(port, "node", tmp_path, shutdown_timeout="10")
    nodes.append(node)
    held = []
    for first in range(0, IN_FLIGHT, CONNECT_BATCH):  # batches: 100 connects at once can overflow a busy listener
        batch = range(first, min(first + CONNECT_BATCH, IN_FLIGHT))
        held += await asyncio.gather(*(hold_login(port, f"user-{index}") for index in batch))
    signalled = time.monotonic()
    node.signal(signal.SIGTERM)
    try:
        assert await refuses_connections(port, within=5), "the node still accepts connections after SIGTERM"
    finally:  # sent or not, no held connection outlives the test (a leaked one warns in the next test)
        answers = await asyncio.gather(*(finish(one) for one in held))
    assert [status for status, _ in answers] == [200] * IN_FLIGHT
    assert {answer["user"] for _, answer in answers} == {f"user-{index}" for index in range(IN_FLIGHT)}
    assert await asyncio.to_thread(node.wait, 15) == 0
    assert time.monotonic() - signalled < 10 + 5
    assert f"{IN_FLIGHT} in-flight requests get up to 10.0 s" in node.log_tail(50)


async def post_login(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, user: str) -> str:
    """POST /login on an open connection: the status, with " close" if the node closes it after, or "dropped"."""
    body = json.dumps({"user": user}).encode()
    writer.write(LOGIN_HEAD % len(body) + b"\r\n" + body)
    try:
        head, _ = await read_answer(reader)
    except (asyncio.IncompleteReadError, ConnectionError):
        return "dropped"
    return head.split()[1] + (" close" if "connection: close" in head else "")


async def test_a_pooled_idle_connection_used_as_the_last_request_ends_is_answered(nodes, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A proxy sends on its pooled idle connections right up to the moment it learns the node stops: closing
    one as the last in-flight request ends would fail a POST the proxy must not replay. It is answered, with
    `Connection: close`, and the node still exits 0."""
    port = free_port()
    node = start_node(port, "node", tmp_path, shutdown_timeout="10")
    nodes.append(node)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        assert await post_login(reader, writer, "pooled") == "200"  # now idle, kept alive
        held = await hold_login(port, "in-flight")
        node.signal(signal.SIGTERM)
        assert await refuses_connections(port, within=5)
        status, _ = await finish(held)  # the last request in flight ends: the node is idle from here
        assert status == 200
        assert await post_login(reader, writer, "pooled") == "200 close"
    finally:
        writer.close()
    assert await asyncio.to_thread(node.wait, 15) == 0


async def test_a_request_stuck_past_the_bound_does_not_hold_the_exit(nodes, tmp_path) -> None:  # type: ignore[no-untyped-def]
    port = free_port()
    node = start_node(port, "node", tmp_path, shutdown_timeout="1")
    nodes.append(node)
    reader, writer, _ = await hold_login(port, "slow")  # its body never comes
    signalled = time.monotonic()
    node.signal(signal.SIGTERM)
    assert await asyncio.to_thread(node.wait, 15) == 0
    assert time.monotonic() - signalled < 1 + 5  # the bound, plus slack for the cancel and the exit
    assert await reader.read() == b""  # the connection was closed, not left hanging
    writer.close()


async def test_a_node_restarts_on_the_same_port_right_after_exit(nodes, tmp_path) -> None:  # type: ignore[no-untyped-def]
    port = free_port()
    first = start_node(port, "first", tmp_path, shutdown_timeout="5")
    nodes.append(first)
    async with aiohttp.ClientSession() as client:  # idle keep-alive connections: the node closes them first,
        answers = await asyncio.gather(*(client.get(f"http://127.0.0.1:{port}/healthz") for _ in range(5)))
        assert {answer.status for answer in answers} == {200}
        first.signal(signal.SIGTERM)  # which leaves its side of each in TIME_WAIT on this port
        assert await asyncio.to_thread(first.wait, 15) == 0
    nodes.append(start_node(port, "second", tmp_path, shutdown_timeout="5"))  # binds at once: reuse_address

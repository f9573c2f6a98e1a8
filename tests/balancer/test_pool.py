"""balancer.pool and balancer.upstream_connection against real loopback servers: reuse, the cap, failures to
connect, the idle sweep, and the read deadline each connection owns."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from balancer.errors import TIMEOUT, UNREACHABLE, UpstreamError
from balancer.pool import ConnectionPool
from loadtest.lab.processes import free_port
from tests.balancer.support import RawUpstream, eventually

REQUEST = b"GET /x HTTP/1.1\r\nHost: n\r\n\r\n"


class Answering(RawUpstream):
    """Answers every request with `ok`, or never answers when `silent`."""

    def __init__(self, *, silent: bool = False) -> None:
        super().__init__()
        self.silent = silent
        self.released = asyncio.Event()

    async def close(self) -> None:
        self.released.set()
        await super().close()

    async def handle(self, head: bytes, writer: asyncio.StreamWriter) -> bool:
        if self.silent:
            await self.released.wait()
            return False
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        await writer.drain()
        return True


class Recorder:
    """A response sink that keeps what it is told (a real object, as an exchange would be)."""

    def __init__(self) -> None:
        self.status = 0
        self.body = b""
        self.ended = asyncio.Event()
        self.errors: list[UpstreamError] = []

    def relay_head(self, status: int, head: bytes, keep_alive: bool) -> None:
        self.status = status

    def response_body(self, data: bytes) -> None:
        self.body += data

    def response_flush(self, ended: bool) -> None:
        if ended:
            self.ended.set()

    def upstream_failed(self, error: UpstreamError) -> None:
        self.errors.append(error)
        self.ended.set()

    def upstream_writable(self, writable: bool) -> None:
        pass


@pytest.fixture
async def node() -> AsyncIterator[Answering]:
    server = await Answering().start()
    yield server
    await server.close()


async def fetch(pool: ConnectionPool, url: str) -> Recorder:
    conn = pool.idle(url) or await pool.connect(url)
    sink = Recorder()
    conn.attach(sink, head_request=False)
    conn.send(REQUEST)
    conn.request_sent()
    await asyncio.wait_for(sink.ended.wait(), 5)
    pool.release(conn)
    return sink


async def test_a_released_connection_is_reused(node: Answering) -> None:
    pool = ConnectionPool(connect_timeout=1, read_timeout=5, limit=10)
    answers = [await fetch(pool, node.url) for _ in range(3)]
    assert [(a.status, a.body) for a in answers] == [(200, b"ok")] * 3
    assert node.connections == 1
    pool.close()


async def test_at_the_cap_a_new_connection_waits_for_a_free_slot(node: Answering) -> None:
    """With the cap at 1 and its connection in use, a second connect opens nothing until that exchange ends.

    The waiter gets 0.5 s to finish early: an uncapped loopback connect ends in about a millisecond, so a broken cap
    fails here even on a loaded 2-core machine, and a working cap can never finish early (no flakiness)."""
    pool = ConnectionPool(connect_timeout=1, read_timeout=5, limit=1)
    first = await pool.connect(node.url)
    waiting = asyncio.ensure_future(pool.connect(node.url))
    done, _ = await asyncio.wait({waiting}, timeout=0.5)
    assert not done
    assert node.connections == 1  # the node saw no second connection either
    sink = Recorder()
    first.attach(sink, head_request=False)
    first.send(REQUEST)
    first.request_sent()
    await asyncio.wait_for(sink.ended.wait(), 5)
    assert not waiting.done()  # an answer alone frees no slot: the connection is still the first request's
    pool.release(first)  # the exchange ends: with a request waiting, its connection closes to free the slot
    second = await asyncio.wait_for(waiting, 5)
    assert second is not first and second.open and not first.open
    await eventually(lambda: node.connections == 2)
    second.close()
    pool.close()


async def test_a_node_that_refuses_is_unreachable() -> None:
    pool = ConnectionPool(connect_timeout=1, read_timeout=5, limit=10)
    with pytest.raises(UpstreamError) as raised:
        await pool.connect(f"http://127.0.0.1:{free_port()}")
    assert raised.value.failure is UNREACHABLE and raised.value.unreachable
    pool.close()


async def test_the_sweep_closes_connections_to_nodes_that_left(node: Answering) -> None:
    pool = ConnectionPool(connect_timeout=1, read_timeout=5, limit=10)
    await fetch(pool, node.url)
    pool.sweep(members=[])
    assert pool.idle(node.url) is None
    await fetch(pool, node.url)
    assert node.connections == 2
    pool.close()


async def test_a_silent_node_times_out_once_the_request_is_sent() -> None:
    silent = await Answering(silent=True).start()
    pool = ConnectionPool(connect_timeout=1, read_timeout=0.2, limit=10)
    conn = await pool.connect(silent.url)
    sink = Recorder()
    conn.attach(sink, head_request=False)
    conn.send(REQUEST)
    pool.expire_reads()
    assert sink.errors == []  # the deadline runs only once the whole request is out
    conn.request_sent()

    def expired() -> bool:
        pool.expire_reads()
        return bool(sink.errors)

    await eventually(expired)
    assert sink.errors[0].failure is TIMEOUT
    conn.close()
    pool.close()
    await silent.close()


async def test_no_timeout_while_the_client_is_too_slow_to_take_the_answer() -> None:
    silent = await Answering(silent=True).start()
    pool = ConnectionPool(connect_timeout=1, read_timeout=0.05, limit=10)
    conn = await pool.connect(silent.url)
    sink = Recorder()
    conn.attach(sink, head_request=False)
    conn.send(REQUEST)
    conn.request_sent()
    conn.pause_reading()
    await asyncio.sleep(0.1)  # longer than the read timeout, on purpose: paused time must not count
    pool.expire_reads()
    assert sink.errors == []
    conn.resume_reading()  # the wait counts from now
    pool.expire_reads()
    assert sink.errors == []
    conn.close()
    pool.close()
    await silent.close()

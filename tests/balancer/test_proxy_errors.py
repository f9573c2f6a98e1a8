"""Upstream failures become small JSON errors (502 refused/reset, 504 timeout, 503 nobody healthy), and a
request that never reached a node is retried once on another one."""

from __future__ import annotations

import asyncio
import select
import socket
from collections.abc import Iterator
from contextlib import contextmanager

import aiohttp
import pytest
from aiohttp import web

from loadtest.lab.processes import free_port
from tests.balancer.support import RawHttp, eventually


async def assert_error(response: aiohttp.ClientResponse, status: int, reason: str) -> None:
    assert response.status == status
    assert response.headers["X-Balancer-Error"] == reason
    body = await response.json()
    assert body["error"] == reason and body["detail"]
    assert "Traceback" not in await response.text()


async def test_a_node_that_hangs_up_gives_502(hang_up_server, start_balancer, client) -> None:
    balancer = await start_balancer([hang_up_server.url])
    async with client().get(balancer.url + "/anything") as response:
        await assert_error(response, 502, "upstream_disconnected")
    assert hang_up_server.requests >= 1


async def test_a_slow_node_gives_504_after_the_read_timeout(start_nodes, start_balancer, client) -> None:
    release = asyncio.Event()

    async def slow(request: web.Request) -> web.Response:
        await asyncio.wait_for(release.wait(), 10)
        return web.Response(text="late")

    nodes = await start_nodes(1, [web.get("/slow", slow)])
    balancer = await start_balancer(nodes, read_timeout=0.3)
    started = asyncio.get_running_loop().time()
    async with client().get(balancer.url + "/slow") as response:
        await assert_error(response, 504, "upstream_timeout")
    assert 0.3 <= asyncio.get_running_loop().time() - started < 2
    release.set()
    assert balancer.upstream(nodes[0].url)["healthy"]  # slow is not dead: the node stays in rotation


async def test_all_nodes_down_gives_503(start_balancer, client) -> None:
    balancer = await start_balancer([f"http://127.0.0.1:{free_port()}", f"http://127.0.0.1:{free_port()}"])
    await eventually(lambda: balancer.status()["healthy"] == 0)
    async with client().get(balancer.url + "/") as response:
        await assert_error(response, 503, "no_healthy_upstream")


async def test_a_refused_node_is_ejected_and_the_request_retried_elsewhere(start_nodes, start_balancer, client):
    nodes = await start_nodes(2)
    # Health checks far apart: after the first round, only the data path's passive ejection can notice.
    balancer = await start_balancer(nodes, routing="round_robin", health_interval=3600)
    await eventually(lambda: all(node.health_checks for node in nodes))
    await nodes[0].stop()
    session = client()
    for _ in range(6):
        async with session.post(balancer.url + "/counter", data=b"+1") as response:
            assert response.status == 200
            assert response.headers["X-Node-Id"] == "n1"
    assert [seen.body for seen in nodes[1].seen] == [b"+1"] * 6  # the retried request kept its body
    assert balancer.upstream(nodes[0].url)["healthy"] is False
    assert balancer.upstream(nodes[0].url)["failures"] == 1  # one refused connection, then never tried again


async def test_a_body_less_get_is_retried_after_a_hang_up_but_a_post_is_not(
    hang_up_server, start_nodes, start_balancer, client
) -> None:
    nodes = await start_nodes(1)
    balancer = await start_balancer([hang_up_server.url, nodes[0].url], routing="round_robin", health_interval=3600)
    session = client()
    async with session.get(balancer.url + "/idempotent") as response:  # round robin: the hang-up node first
        assert response.status == 200 and response.headers["X-Node-Id"] == "n0"
    hang_ups = hang_up_server.requests
    assert hang_ups >= 1
    async with session.post(balancer.url + "/not-idempotent", data=b"pay once") as response:
        await assert_error(response, 502, "upstream_disconnected")  # round robin: the hang-up node again
    assert hang_up_server.requests == hang_ups + 1
    assert [seen.raw_path for seen in nodes[0].seen] == ["/idempotent"]  # the POST was not replayed elsewhere


async def test_a_node_failing_mid_body_breaks_the_clients_response(start_nodes, start_balancer, client) -> None:
    async def truncated(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Length": "100000"})
        await response.prepare(request)
        await response.write(b"only the beginning")
        assert request.transport is not None
        request.transport.close()
        return response

    nodes = await start_nodes(1, [web.get("/truncated", truncated)])
    balancer = await start_balancer(nodes)
    async with client().get(balancer.url + "/truncated") as response:
        assert response.status == 200
        with pytest.raises(aiohttp.ClientPayloadError):
            await response.read()


async def test_node_errors_pass_through_unchanged(start_nodes, start_balancer, client) -> None:
    async def broken(request: web.Request) -> web.Response:
        return web.json_response({"app": "error"}, status=500)

    nodes = await start_nodes(1, [web.get("/broken", broken)])
    balancer = await start_balancer(nodes)
    async with client().get(balancer.url + "/broken") as response:
        assert response.status == 500
        assert "X-Balancer-Error" not in response.headers
        assert await response.json() == {"app": "error"}
    assert balancer.upstream(nodes[0].url)["failures"] == 0


async def test_a_client_breaking_off_its_upload_is_not_blamed_on_the_node(start_nodes, start_balancer, caplog) -> None:
    nodes = await start_nodes(1)
    balancer = await start_balancer(nodes)
    raw = await RawHttp.connect(balancer.port)
    raw.writer.write(b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n" + b"a" * 5000)
    await raw.writer.drain()
    await eventually(lambda: balancer.upstream(nodes[0].url)["in_flight"] == 1)
    await raw.close()
    await eventually(lambda: balancer.upstream(nodes[0].url)["in_flight"] == 0)
    assert balancer.upstream(nodes[0].url) | {"url": None} == {
        "url": None,
        "node_id": "n0",
        "state": "ready",
        "healthy": True,
        "in_flight": 0,
        "served": 0,
        "served_draining": 0,
        "failures": 0,
    }
    assert not [record for record in caplog.records if record.levelname in ("WARNING", "ERROR")]


async def test_a_node_answering_garbage_gives_502(start_balancer, client) -> None:
    async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        healthz = head.startswith(b"GET /healthz ")  # health checks pass: only proxied requests get garbage
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n" if healthz else b"SSH-2.0-OpenSSH_9.2\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(garbage, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    balancer = await start_balancer([f"http://127.0.0.1:{port}"])
    async with client().post(balancer.url + "/", data=b"x") as response:
        await assert_error(response, 502, "upstream_bad_response")
    assert balancer.upstream(f"http://127.0.0.1:{port}")["healthy"]
    server.close()
    await server.wait_closed()


async def test_a_node_that_refuses_the_connection_gives_502_upstream_unreachable(
    start_nodes, start_balancer, client
) -> None:
    nodes = await start_nodes(1)
    balancer = await start_balancer(nodes, health_interval=3600)  # one check at start; the data path finds it gone
    await eventually(lambda: nodes[0].health_checks >= 1 and balancer.upstream(nodes[0].url)["healthy"])
    await nodes[0].stop()
    async with client().get(balancer.url + "/anything") as response:
        await assert_error(response, 502, "upstream_unreachable")
    assert balancer.upstream(nodes[0].url)["healthy"] is False  # ejected by the refused connection


@contextmanager
def address_that_never_accepts() -> Iterator[str]:
    """A loopback listener whose accept queue is full: the kernel drops further SYNs, so a connect never completes.

    Connections are opened until one is not established within 0.5 s (a loopback connect takes well under a
    millisecond when the queue has room); with `listen(0)` that happens after one or two."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    address = listener.getsockname()
    fillers: list[socket.socket] = []
    try:
        while len(fillers) < 64:
            filler = socket.socket()
            filler.setblocking(False)
            fillers.append(filler)
            filler.connect_ex(address)
            if not select.select([], [filler], [], 0.5)[1]:
                break
        else:
            raise AssertionError("the accept queue never filled up")
        yield f"http://{address[0]}:{address[1]}"
    finally:
        for filler in fillers:
            filler.close()
        listener.close()


async def test_a_node_that_does_not_accept_in_time_gives_504_upstream_connect_timeout(start_balancer, client) -> None:
    """README: 504 `upstream_connect_timeout` once BALANCER_CONNECT_TIMEOUT has passed without the connection.

    Margin: the answer comes no sooner than the timeout (0.3 s) and within 2 s more on a loaded 2-core machine
    (the node's health check is 30 s away, so only the data path can give up)."""
    with address_that_never_accepts() as url:
        balancer = await start_balancer([url], connect_timeout=0.3, health_interval=3600, health_timeout=30)
        started = asyncio.get_running_loop().time()
        async with client().get(balancer.url + "/anything") as response:
            await assert_error(response, 504, "upstream_connect_timeout")
        assert 0.3 <= asyncio.get_running_loop().time() - started < 2.3
        assert balancer.upstream(url)["healthy"] is False  # a node that cannot be connected to is ejected

"""Long-lived connections on a real cluster (node processes, a balancer process): the polling-then-upgrade handshake
needs affinity whatever the store, and a killed node's WebSockets end at once instead of hanging."""

from __future__ import annotations

import asyncio
import signal

import aiohttp
import pytest

from nodes.contract.names import NODE_ID_HEADER, SID_UNKNOWN, WS_GOING_AWAY
from tests.faults.conftest import ClusterFactory

ATTEMPTS = 20  # random routing on two nodes sends all of them to the polling node with probability 2**-20
TICK = {"NODE_TICK_MS": "100"}


async def poll_then_upgrade(url: str) -> tuple[str, str | None]:
    """One socket.io-style client: log in, poll for a transport id (again until a node sees the session), upgrade
    with it. The polling node, and the node whose WebSocket said hello (None: the upgrade was refused)."""
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as client:
        assert (await client.post(f"{url}/login", json={"user": "ann"})).status == 200
        for _ in range(40):
            poll = await client.get(f"{url}/poll")
            if poll.status == 200:
                break
        assert poll.status == 200, "no node found the session"
        answer = await poll.json()
        try:
            async with client.ws_connect(f"{url}/ws", params={"sid": answer["sid"]}) as ws:
                hello = await ws.receive_json(timeout=5)
                return answer["node"], hello["node"]
        except aiohttp.WSServerHandshakeError as refused:
            assert refused.status == 400, refused
            assert refused.headers is not None and refused.headers[NODE_ID_HEADER] != answer["node"]
            return answer["node"], None


@pytest.mark.parametrize("store", ["memory", "redis"])
async def test_the_upgrade_reaches_its_polling_node_only_with_affinity(start_cluster: ClusterFactory, store) -> None:
    for routing in ("random", "sticky"):
        cluster = start_cluster(nodes=2, store=store, routing=routing, env=TICK)
        outcomes = [await poll_then_upgrade(cluster.url) for _ in range(ATTEMPTS)]
        upgraded = [hello for _, hello in outcomes if hello is not None]
        assert all(hello == polled for polled, hello in outcomes if hello is not None)  # never on another node
        if routing == "random":
            assert len(upgraded) < ATTEMPTS, outcomes  # "Session ID unknown" whenever the upgrade went elsewhere
        else:
            assert len(upgraded) == ATTEMPTS, outcomes
        cluster.stop()


async def test_the_refusal_is_socket_io_s(start_cluster: ClusterFactory) -> None:
    cluster = start_cluster(nodes=2, store="redis", routing="random", env=TICK)
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as client:
        await client.post(f"{cluster.url}/login", json={"user": "ann"})
        answer = await (await client.get(f"{cluster.url}/poll")).json()
        while True:  # the shared store finds the session everywhere; the transport id lives on one node
            again = await client.get(f"{cluster.url}/poll", params={"sid": answer["sid"]})
            if again.headers[NODE_ID_HEADER] != answer["node"]:
                break
        assert again.status == 400
        assert (await again.json())["message"] == SID_UNKNOWN


async def test_a_killed_node_s_websockets_end_at_once(start_cluster: ClusterFactory) -> None:
    cluster = start_cluster(nodes=2, store="memory", routing="sticky", env=TICK)  # new clients spread round robin
    clients = [aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) for _ in range(6)]
    sockets: dict[str, list[aiohttp.ClientWebSocketResponse]] = {}
    try:
        for client in clients:
            await client.post(f"{cluster.url}/login", json={"user": "ann"})
            ws = await client.ws_connect(f"{cluster.url}/ws")
            hello = await ws.receive_json(timeout=5)
            sockets.setdefault(hello["node"], []).append(ws)
        killed = cluster.kill_node(0)
        assert sockets.get(killed), sockets
        for ws in sockets[killed]:
            await asyncio.wait_for(until_closed(ws), 5)  # a close or a reset, never a hang
        for ws in sockets.get("node-2", []):
            assert (await ws.receive_json(timeout=5))["type"] == "tick"  # the other node's tunnels go on
    finally:
        for client in clients:
            await client.close()


async def until_closed(ws: aiohttp.ClientWebSocketResponse) -> None:
    while True:
        message = await ws.receive()
        if message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR):
            return


async def test_a_stopping_node_closes_its_websockets_with_1001(start_cluster: ClusterFactory) -> None:
    cluster = start_cluster(nodes=1, store="memory", routing="sticky", env=TICK)
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as client:
        await client.post(f"{cluster.url}/login", json={"user": "ann"})
        async with client.ws_connect(f"{cluster.url}/ws") as ws:
            assert (await ws.receive_json(timeout=5))["type"] == "hello"
            cluster.nodes[0].process.signal(signal.SIGTERM)
            while (message := await ws.receive(timeout=5)).type is aiohttp.WSMsgType.TEXT:
                pass  # ticks until the node notices
            assert (message.type, message.data) == (aiohttp.WSMsgType.CLOSE, WS_GOING_AWAY)
    assert cluster.nodes[0].process.wait(10) == 0

"""WebSocket and server-sent events through the balancer: the handshake routed like any request, the node's 101
relayed, then the two sockets spliced until either side closes; refused upgrades, idle tunnels and drains."""

from __future__ import annotations

import asyncio
import contextlib
import time

import aiohttp
import pytest

from balancer.settings import BalancerSettings
from nodes.contract.envconfig import SettingsError
from nodes.contract.names import AFFINITY_COOKIE, ROUTING_MODES, SESSION_COOKIE
from tests.balancer.support import RawHttp, RawUpstream, eventually
from tests.balancer.tunnels import WsNode

PINNED = ("sticky", "hash", "route")  # the routing modes that keep a session on one node
HANDSHAKE = "GET {path} HTTP/1.1\nHost: x\nConnection: Upgrade\nUpgrade: websocket\nSec-WebSocket-Version: 13\n" \
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=="  # fmt: skip


def tunnels(balancer) -> int:  # type: ignore[no-untyped-def]
    """Open tunnels counted on the (only) node, as /_balancer/metrics reports them."""
    return int(balancer.app.registry.members[0].tunnels)


async def hello_port(ws: aiohttp.ClientWebSocketResponse) -> int:
    message = await ws.receive_str(timeout=5)
    assert message.startswith("hello "), message
    return int(message.split()[1])


@pytest.mark.parametrize("routing", ROUTING_MODES)
async def test_a_websocket_goes_where_the_routing_mode_sends_its_handshake(
    routing, start_nodes, start_balancer, client
) -> None:
    nodes = await start_nodes(2, WsNode().routes())
    balancer = await start_balancer(nodes, routing=routing)
    await eventually(lambda: all(u["node_id"] for u in balancer.status()["upstreams"]), what="node ids known")
    session = client()
    session.cookie_jar.update_cookies({SESSION_COOKIE: "abc.n1"})  # a session id, route-tagged for node n1
    ports = []
    for _ in range(4):
        async with session.ws_connect(f"{balancer.url}/ws") as ws:
            ports.append(await hello_port(ws))
            await ws.send_str("ping")
            assert await ws.receive_str(timeout=5) == "echo ping"
    by_port = {int(node.url.rsplit(":", 1)[1]): node.node_id for node in nodes}
    if routing in PINNED:
        assert len(set(ports)) == 1, ports  # every handshake of the session reached one node
        answer = await session.get(f"{balancer.url}/page")  # and plain requests go there too
        assert answer.headers["X-Node-Id"] == by_port[ports[0]]
    if routing == "route":
        assert by_port[ports[0]] == "n1"
    if routing == "sticky":
        assert AFFINITY_COOKIE in {cookie.key for cookie in session.cookie_jar}  # set by the 101 itself
    if routing == "round_robin":
        assert set(ports) == set(by_port)
    await eventually(lambda: sum(u.tunnels for u in balancer.app.registry.members) == 0, what="tunnels closed")


@pytest.mark.parametrize("routing", ROUTING_MODES)
async def test_server_sent_events_arrive_before_the_stream_ends(routing, start_nodes, start_balancer, client) -> None:
    node = WsNode()
    nodes = await start_nodes(2, node.routes())
    balancer = await start_balancer(nodes, routing=routing)
    async with client().get(f"{balancer.url}/events") as response:
        assert response.headers["Content-Type"] == "text/event-stream"
        first = await asyncio.wait_for(response.content.readuntil(b"\n\n"), 5)  # the node has not finished
        assert first.startswith(b"id: 1\ndata: first from ")
        node.release.set()
        assert await asyncio.wait_for(response.content.read(), 5) == b"id: 2\ndata: second\n\n"


async def test_metrics_count_open_tunnels_per_node(start_nodes, start_balancer, client) -> None:
    nodes = await start_nodes(1, WsNode().routes())
    balancer = await start_balancer(nodes)
    session = client()
    async with session.ws_connect(f"{balancer.url}/ws") as ws, session.ws_connect(f"{balancer.url}/ws") as other:
        await hello_port(ws), await hello_port(other)
        assert tunnels(balancer) == 2
        metrics = await (await session.get(f"{balancer.url}/_balancer/metrics")).text()
        assert f'balancer_upstream_tunnels{{upstream="{nodes[0].url}"}} 2.0' in metrics
    await eventually(lambda: tunnels(balancer) == 0, what="tunnels closed")


async def test_either_side_closes_the_tunnel(start_nodes, start_balancer, client) -> None:
    node = WsNode()
    balancer = await start_balancer(await start_nodes(1, node.routes()))
    session = client()
    ws = await session.ws_connect(f"{balancer.url}/ws")
    await hello_port(ws)
    await ws.close(code=1000)
    await eventually(lambda: node.closes == [1000], what="the node saw the client's close")
    ws = await session.ws_connect(f"{balancer.url}/ws")
    await hello_port(ws)
    await ws.send_str("close-me")
    message = await ws.receive(timeout=5)
    assert (message.type, message.data) == (aiohttp.WSMsgType.CLOSE, 4000)


async def test_a_refused_upgrade_gives_the_node_s_answer_and_no_tunnel(start_nodes, start_balancer, client) -> None:
    nodes = await start_nodes(1, WsNode().routes())
    balancer = await start_balancer(nodes)
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await client().ws_connect(f"{balancer.url}/ws-refused")
    assert refused.value.status == 403
    raw = await RawHttp.connect(balancer.port)
    response = await raw.exchange(HANDSHAKE.format(path="/ws-refused"))
    assert response.status == 403 and response.get("Connection") == ["close"]
    assert await asyncio.wait_for(raw.reader.read(), 5) == b""  # closed: nothing else is read on it
    await raw.close()
    assert tunnels(balancer) == 0


async def test_a_request_smuggled_after_a_refused_upgrade_is_never_executed(start_nodes, start_balancer) -> None:
    nodes = await start_nodes(1, WsNode().routes())
    balancer = await start_balancer(nodes)
    raw = await RawHttp.connect(balancer.port)
    smuggled = b"GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"
    raw.writer.write(HANDSHAKE.format(path="/ws-refused").replace("\n", "\r\n").encode() + b"\r\n\r\n" + smuggled)
    response = await raw.read_response()
    assert response.status == 403
    assert await asyncio.wait_for(raw.reader.read(), 5) == b""  # one answer, then the connection closes
    await raw.close()
    assert "/smuggled" not in [seen.raw_path for seen in nodes[0].seen]


async def test_a_plain_request_answered_by_101_is_a_bad_gateway(start_nodes, start_balancer, client) -> None:
    nodes = await start_nodes(1, WsNode().routes())
    balancer = await start_balancer(nodes)
    raw = await RawHttp.connect(balancer.port)  # no Upgrade header: aiohttp refuses to switch protocols
    response = await raw.exchange("GET /ws HTTP/1.1\nHost: x\nSec-WebSocket-Version: 13\nSec-WebSocket-Key: x")
    await raw.close()
    assert response.status in (400, 426)  # the node's own refusal, relayed


async def test_an_idle_tunnel_is_closed_after_the_tunnel_timeout(start_nodes, start_balancer, client) -> None:
    nodes = await start_nodes(1, WsNode().routes())
    balancer = await start_balancer(nodes, tunnel_timeout=0.3)
    opened = time.monotonic()
    ws = await client().ws_connect(f"{balancer.url}/ws", autoping=False)
    await hello_port(ws)
    message = await ws.receive(timeout=10)
    assert message.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.ERROR)
    assert time.monotonic() - opened >= 0.3
    await eventually(lambda: tunnels(balancer) == 0, what="the tunnel counted out")


async def test_a_drained_node_s_tunnels_get_1001_after_the_drain_time(start_nodes, start_balancer, client) -> None:
    nodes = await start_nodes(1, WsNode().routes())
    balancer = await start_balancer(nodes, drain_timeout=1.0)
    ws = await client().ws_connect(f"{balancer.url}/ws")
    await hello_port(ws)
    registry = balancer.app.registry
    drained = time.monotonic()
    registry.set_draining(registry.members[0], True)
    await ws.send_str("still there")
    assert await ws.receive_str(timeout=5) == "echo still there"  # the tunnel is left to finish meanwhile
    message = await ws.receive(timeout=10)
    assert (message.type, message.data) == (aiohttp.WSMsgType.CLOSE, 1001)
    assert time.monotonic() - drained >= 1.0
    await eventually(lambda: tunnels(balancer) == 0, what="the tunnel counted out")


def test_the_tunnel_timeouts_are_read_from_the_environment() -> None:
    env = {"BALANCER_UPSTREAMS": "http://127.0.0.1:8081"}
    defaults = BalancerSettings.from_env(env)
    assert (defaults.tunnel_timeout, defaults.drain_timeout) == (3600.0, 30.0)
    settings = BalancerSettings.from_env({**env, "BALANCER_TUNNEL_TIMEOUT": "90", "BALANCER_DRAIN_TIMEOUT": "2.5"})
    assert (settings.tunnel_timeout, settings.drain_timeout) == (90.0, 2.5)
    with pytest.raises(SettingsError, match="BALANCER_TUNNEL_TIMEOUT"):
        BalancerSettings.from_env({**env, "BALANCER_TUNNEL_TIMEOUT": "0"})


@pytest.mark.parametrize("share", [0.0, 0.5])
async def test_a_joining_node_gets_the_rebalance_share_of_the_tunnels(share, start_nodes, start_balancer, client):  # type: ignore[no-untyped-def]
    first, second = await start_nodes(2, WsNode().routes())
    balancer = await start_balancer([first], tunnel_rebalance=share)
    session = client()
    sockets = [await session.ws_connect(f"{balancer.url}/ws") for _ in range(4)]
    for ws in sockets:
        await hello_port(ws)
    tunnels_ = balancer.app._proxy.tunnels
    balancer.set_upstreams([first.url, second.url])
    await eventually(lambda: second.url in (tunnels_._available or ()), what="the sweep saw the new node")
    codes = []
    for ws in sockets:
        with contextlib.suppress(ConnectionResetError):  # a closed one may already refuse the write
            await ws.send_str("still there?")
        message = await ws.receive(timeout=5)
        codes.append(message.data if message.type is aiohttp.WSMsgType.CLOSE else "open")
        await ws.close()
    assert sorted(codes, key=str) == ([1001, 1001, "open", "open"] if share else ["open"] * 4)


async def test_a_stopping_balancer_closes_its_websockets_with_1001(start_nodes, start_balancer, client) -> None:
    balancer = await start_balancer(await start_nodes(1, WsNode().routes()))
    ws = await client().ws_connect(f"{balancer.url}/ws")
    await hello_port(ws)
    stopping = asyncio.ensure_future(balancer.app.close(grace=5.0))
    message = await ws.receive(timeout=5)
    assert (message.type, message.data) == (aiohttp.WSMsgType.CLOSE, 1001)
    await asyncio.wait_for(stopping, 5)  # the tunnel's end lets the stop finish before its grace


class HeldUpgrade(RawUpstream):
    """Answers an upgrade with 101 only when the test says so; records what came with the head and after it."""

    def __init__(self) -> None:
        super().__init__()
        self.head_seen = asyncio.Event()
        self.release = asyncio.Event()
        self.with_head = b""
        self.after_101 = b""

    async def handle(self, head: bytes, writer: asyncio.StreamWriter) -> bool:
        reader = writer.transport.get_protocol()._stream_reader  # type: ignore[attr-defined]
        self.with_head = bytes(reader._buffer)  # bytes that arrived with the head, before any 101
        self.head_seen.set()
        await self.release.wait()
        writer.write(b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\nNODE")
        self.after_101 = await asyncio.wait_for(reader.readexactly(5), 5)
        return False


async def test_no_101_before_the_node_s_and_no_client_byte_before_it(start_balancer) -> None:
    node = await HeldUpgrade().start()
    try:
        balancer = await start_balancer([node.url])
        raw = await RawHttp.connect(balancer.port)
        raw.writer.write(HANDSHAKE.format(path="/ws").replace("\n", "\r\n").encode() + b"\r\n\r\nEARLY")
        await asyncio.wait_for(node.head_seen.wait(), 5)
        assert node.with_head == b""  # the client's tunnel bytes wait for the node's 101
        reading = asyncio.ensure_future(raw.reader.readuntil(b"\r\n\r\n"))
        for _ in range(20):  # a 101 of the balancer's own would have gone out before the head reached the node
            await asyncio.sleep(0)
        assert not reading.done()
        node.release.set()
        assert (await asyncio.wait_for(reading, 5)).startswith(b"HTTP/1.1 101 ")
        assert await asyncio.wait_for(raw.reader.readexactly(4), 5) == b"NODE"
        await eventually(lambda: node.after_101 == b"EARLY", what="the early bytes reached the node after its 101")
        await raw.close()
    finally:
        await node.close()


def streams(balancer) -> int:  # type: ignore[no-untyped-def]
    """Event streams the balancer follows beside its tunnels."""
    return sum(1 for item in balancer.app._proxy.tunnels.open if not hasattr(item, "frames"))


async def test_a_drained_node_s_event_streams_end_after_the_drain_time(start_nodes, start_balancer, client) -> None:
    """An event stream is no tunnel (no 101), yet it lives as long: a drain must end it too, cleanly framed, so an
    EventSource reconnects to a node that takes new clients instead of staying on the leaving one."""
    nodes = await start_nodes(1, WsNode().routes())
    balancer = await start_balancer(nodes, drain_timeout=1.0)
    async with client().get(f"{balancer.url}/events") as response:
        first = await asyncio.wait_for(response.content.readuntil(b"\n\n"), 5)
        assert first.startswith(b"id: 1\n") and streams(balancer) == 1
        registry = balancer.app.registry
        drained = time.monotonic()
        registry.set_draining(registry.members[0], True)
        rest = await asyncio.wait_for(response.content.read(), 10)  # the stream ends: no hang, no reset
        assert rest == b"" and time.monotonic() - drained >= 1.0
    await eventually(lambda: streams(balancer) == 0 and registry.members[0].in_flight == 0, what="stream forgotten")


async def test_an_event_stream_that_ends_by_itself_is_forgotten(start_nodes, start_balancer, client) -> None:
    node = WsNode()
    balancer = await start_balancer(await start_nodes(1, node.routes()), drain_timeout=0.5)
    async with client().get(f"{balancer.url}/events") as response:
        await asyncio.wait_for(response.content.readuntil(b"\n\n"), 5)
        node.release.set()
        assert await asyncio.wait_for(response.content.read(), 5) == b"id: 2\ndata: second\n\n"
    await eventually(lambda: streams(balancer) == 0, what="the ended stream forgotten")
    async with client().get(f"{balancer.url}/healthz") as response:  # a plain answer is never followed
        assert streams(balancer) == 0


@pytest.mark.parametrize("share", [0.0, 0.5])
async def test_a_joining_node_gets_the_rebalance_share_of_the_event_streams(share, start_nodes, start_balancer, client):  # type: ignore[no-untyped-def]
    first, second = await start_nodes(2, WsNode().routes())
    balancer = await start_balancer([first], tunnel_rebalance=share)
    session = client()
    responses = [await session.get(f"{balancer.url}/events") for _ in range(4)]
    for response in responses:
        await asyncio.wait_for(response.content.readuntil(b"\n\n"), 5)
    tunnels_ = balancer.app._proxy.tunnels
    balancer.set_upstreams([first.url, second.url])
    await eventually(lambda: second.url in (tunnels_._available or ()), what="the sweep saw the new node")
    ended = 0
    for response in responses:
        with contextlib.suppress(TimeoutError):  # still open: not chosen
            ended += await asyncio.wait_for(response.content.read(), 0.5 if share else 0.3) == b""
        response.close()
    assert ended == (2 if share else 0)

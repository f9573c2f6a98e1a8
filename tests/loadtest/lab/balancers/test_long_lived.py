"""Long-lived connections through every balancer the lab can front: a WebSocket's hello, ticks and `incr` answer
cross it, and a server-sent event stream arrives event by event (the first event before the stream ends), not
buffered until the node finishes."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest

from loadtest.lab.balancers import BALANCERS
from loadtest.lab.cluster import ClusterConfig, LocalCluster
from nodes.contract.names import EVENTS_PATH, INCR_MESSAGE, WS_PATH
from tests.loadtest.lab.balancers.clients import installed

pytestmark = pytest.mark.timeout(120)
TICK = (("NODE_TICK_MS", "200"),)
WAIT_S = 5.0  # a tick comes every 0.2 s: an event not here by then is held by the balancer


async def websocket_round_trip(url: str) -> tuple[dict[str, object], dict[str, object], dict[str, object]]:
    """Log in, open /ws through the balancer: its hello, a tick, and the answer to one `incr`."""
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as client:
        assert (await client.post(f"{url}/login", json={"user": "ann"})).status == 200
        async with client.ws_connect(f"{url}{WS_PATH}") as ws:
            hello = await ws.receive_json(timeout=WAIT_S)
            tick = await ws.receive_json(timeout=WAIT_S)
            await ws.send_str(INCR_MESSAGE)
            answer = await ws.receive_json(timeout=WAIT_S)
            while answer["type"] == "tick":
                answer = await ws.receive_json(timeout=WAIT_S)
    return hello, tick, answer


async def first_events(url: str) -> list[bytes]:
    """Log in, open /events through the balancer and read its first two events while the stream stays open."""
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as client:
        assert (await client.post(f"{url}/login", json={"user": "ann"})).status == 200
        async with client.get(f"{url}{EVENTS_PATH}", headers={"Accept": "text/event-stream"}) as response:
            assert response.status == 200 and response.headers["Content-Type"].startswith("text/event-stream")
            events = [await asyncio.wait_for(response.content.readuntil(b"\n\n"), WAIT_S) for _ in range(2)]
            assert not response.content.at_eof()  # the node never ends this stream: the events came unbuffered
    return events


@pytest.mark.parametrize("balancer", list(BALANCERS))
async def test_websockets_and_event_streams_cross_the_balancer(balancer: str, tmp_path: Path) -> None:
    installed(balancer)
    config = ClusterConfig(
        nodes=2, routing="random", store="cookie", balancer=balancer, log_dir=tmp_path, extra_env=TICK
    )  # fmt: skip  (the cookie store: every node reads every session)
    with LocalCluster(config) as cluster:
        hello, tick, answer = await websocket_round_trip(cluster.url)
        assert (hello["type"], hello["counter"], tick["type"]) == ("hello", 0, "tick")
        assert (answer["type"], answer["counter"]) == ("counter", 1)
        events = await first_events(cluster.url)
        assert events[0].startswith(b"event: hello\n") and b"event: tick\n" in events[1]

"""Long-lived connections through every balancer the lab can front: a WebSocket's hello, ticks and `incr` answer
cross it, and a server-sent event stream arrives event by event (the first event before the stream ends), not
buffered until the node finishes; what a balancer cannot do (`--rebalance`) is a cell that says "not offered"."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest

from loadtest.compare.run.cell import precheck
from loadtest.compare.spec import CellSpec
from loadtest.lab.balancers import BALANCERS
from loadtest.lab.balancers.long_lived import REBALANCE, UPGRADE, markdown_table
from loadtest.lab.cluster import ClusterConfig, LocalCluster
from nodes.contract.names import EVENTS_PATH, INCR_MESSAGE, WS_PATH
from tests.loadtest.lab.balancers.clients import installed

pytestmark = pytest.mark.timeout(120)
DOCS = Path(__file__).resolve().parents[4] / "docs" / "balancers.md"
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


def test_every_balancer_carries_upgrades_and_only_ours_rebalances_the_others_say_why() -> None:
    assert set(UPGRADE) == set(REBALANCE) == set(BALANCERS)
    assert all(offer.offered for offer in UPGRADE.values())
    assert [name for name, offer in REBALANCE.items() if offer.offered] == ["sessionlab"]
    assert markdown_table() in DOCS.read_text()


def test_a_long_lived_cell_asking_a_balancer_for_what_it_lacks_is_not_offered() -> None:
    spec = CellSpec("random", "redis", "scale-out", 3, 20, 7.0, long_lived=0.3, rebalance=0.5, balancer="haproxy")
    cell = precheck(spec)
    assert cell is not None and cell.verdict == "not offered"
    assert cell.to_json()["not_offered"].startswith("--rebalance: HAProxy closes a server's sessions all at once")
    for fine in (CellSpec("random", "redis", "scale-out", 3, 20, 7.0, long_lived=0.3, balancer="haproxy"),
                 CellSpec("random", "redis", "scale-out", 3, 20, 7.0, long_lived=0.3, rebalance=0.5)):  # fmt: skip
        assert precheck(fine) is None or precheck(fine).verdict == "skipped"  # type: ignore[union-attr]

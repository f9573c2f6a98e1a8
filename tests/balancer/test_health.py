"""Active health checks eject a failing node and re-admit it after a passing check; routing follows."""

from __future__ import annotations

from balancer.health import HealthChecker
from balancer.settings import BalancerSettings
from balancer.upstreams import UpstreamRegistry
from loadtest.lab.processes import free_port
from tests.balancer.support import eventually


async def test_a_check_ejects_a_failing_or_dead_node_and_readmits_it(start_nodes, aiohttp_server) -> None:
    nodes = await start_nodes(2)
    dead = f"http://127.0.0.1:{free_port()}"
    registry = UpstreamRegistry([nodes[0].url, nodes[1].url, dead])
    settings = BalancerSettings(upstreams=(), health_timeout=0.5)
    async with HealthChecker(registry, settings) as checker:
        await checker.check_all()
        assert [u.healthy for u in registry.members] == [True, True, False]
        nodes[1].healthy = False  # /healthz answers 503
        await nodes[0].stop()  # connection refused
        await checker.check_all()
        assert [u.healthy for u in registry.members] == [False, False, False]
        assert registry.view.available == ()
        nodes[1].healthy = True
        port = int(nodes[0].url.rsplit(":", 1)[1])
        await nodes[0].start(aiohttp_server, port=port)  # back on the same address
        await checker.check_all()
        assert [u.healthy for u in registry.members] == [True, True, False]


async def test_a_node_failing_its_check_stops_receiving_traffic_until_it_passes(
    start_nodes, start_balancer, client
) -> None:
    nodes = await start_nodes(3)
    balancer = await start_balancer(nodes, routing="round_robin", health_interval=0.05)
    session = client()

    async def spread(n: int = 30) -> dict[str, int]:
        counts = {"n0": 0, "n1": 0, "n2": 0}
        for _ in range(n):
            async with session.get(balancer.url + "/") as response:
                assert response.status == 200
                counts[response.headers["X-Node-Id"]] += 1
        return counts

    assert await spread() == {"n0": 10, "n1": 10, "n2": 10}
    nodes[1].healthy = False
    await eventually(lambda: not balancer.upstream(nodes[1].url)["healthy"])
    assert (await spread())["n1"] == 0  # still up, but routing never picks it
    nodes[1].healthy = True
    await eventually(lambda: balancer.upstream(nodes[1].url)["healthy"])
    assert await spread() == {"n0": 10, "n1": 10, "n2": 10}

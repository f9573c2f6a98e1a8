"""`round_robin`: strict rotation over the healthy nodes."""

from __future__ import annotations

from balancer.routing.base import RouteRequest
from balancer.routing.round_robin import RoundRobinPolicy
from balancer.upstreams import UpstreamRegistry


def test_rotates_exactly_and_skips_down_nodes() -> None:
    registry = UpstreamRegistry(["http://a:1", "http://b:1", "http://c:1"])
    policy = RoundRobinPolicy()
    picks = [policy.choose(RouteRequest(), registry.view).upstream.url[7] for _ in range(9)]
    assert "".join(picks) == "abcabcabc"
    registry.mark_down(registry.members[1], "test")
    picks = [policy.choose(RouteRequest(), registry.view).upstream.url[7] for _ in range(6)]
    assert sorted(picks) == list("aaaccc") and all(x != y for x, y in zip(picks, picks[1:], strict=False))


async def test_rotates_exactly_through_the_proxy(start_nodes, start_balancer, client) -> None:
    nodes = await start_nodes(3)
    balancer = await start_balancer(nodes, routing="round_robin")
    session, seen = client(), []
    for _ in range(12):
        async with session.get(balancer.url + "/") as response:
            seen.append(response.headers["X-Node-Id"])
    assert seen == ["n0", "n1", "n2"] * 4

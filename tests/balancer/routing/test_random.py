"""`random`: uniform over the healthy nodes, checked against a stated statistical tolerance."""

from __future__ import annotations

import asyncio
from collections import Counter

from balancer.routing.base import RouteRequest
from balancer.routing.random import RandomPolicy
from balancer.upstreams import UpstreamRegistry


def tolerance(n: int, p: float, sigmas: float = 5.5) -> float:
    """Allowed distance from n*p for a Binomial(n, p) count.

    Each count's deviation is about normal with sd = sqrt(n p (1-p)); P(|Z| > 5.5) = 3.8e-8, so with three
    counts checked a correct policy fails the test with probability < 1.2e-7 (well under 1e-6).
    """
    return sigmas * (n * p * (1 - p)) ** 0.5


def test_picks_are_uniform_over_healthy_nodes() -> None:
    registry = UpstreamRegistry(["http://a:1", "http://b:1", "http://c:1", "http://d:1"])
    registry.mark_down(registry.members[3], "test")
    policy, n = RandomPolicy(), 30_000
    counts = Counter(policy.choose(RouteRequest(), registry.view).upstream.url for _ in range(n))
    assert set(counts) == {"http://a:1", "http://b:1", "http://c:1"}  # never the down node
    for url, count in counts.items():
        assert abs(count - n / 3) <= tolerance(n, 1 / 3), (url, count)  # ±450 around 10,000


async def test_spreads_requests_through_the_proxy(start_nodes, start_balancer, client) -> None:
    nodes = await start_nodes(3)
    balancer = await start_balancer(nodes, routing="random", health_timeout=2.0)  # no flapping on a busy machine
    session, n = client(), 600

    async def one() -> str:
        async with session.get(balancer.url + "/") as response:
            return response.headers["X-Node-Id"]

    counts: Counter[str] = Counter()
    for _ in range(n // 50):
        counts.update(await asyncio.gather(*(one() for _ in range(50))))
    assert sum(counts.values()) == n
    for node_id in ("n0", "n1", "n2"):
        assert abs(counts[node_id] - n / 3) <= tolerance(n, 1 / 3), counts  # ±63 around 200

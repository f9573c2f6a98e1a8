"""The balancer's own endpoints: /_balancer/status and /_balancer/metrics, never proxied."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families
from yarl import URL

import balancer as running_balancer
from balancer.discovery import DnsTarget
from nodes.contract.names import REPLICATION_PREFIX


async def test_status_reports_mode_nodes_and_counters(start_nodes, start_balancer, client) -> None:
    nodes = await start_nodes(2)
    balancer = await start_balancer(nodes, routing="round_robin")
    session = client()
    for _ in range(4):
        async with session.get(balancer.url + "/work") as response:
            assert response.status == 200
    async with session.get(balancer.url + "/_balancer/status") as response:
        status = await response.json()
    times = status.pop("service_time")  # the balancer's own time: the 4 forwarded requests, not its own endpoint
    assert times["count"] == 4 and sum(times["buckets"].values()) == 4 and times["total_ms"] > 0
    assert status.pop("data_path") == running_balancer.DATA_PATH.kind  # what this process selected at import
    assert status == {
        "routing": "round_robin",
        "redispatches": 0,
        "healthy": 2,
        "upstreams": [
            {
                "url": node.url,
                "node_id": node.node_id,
                "state": "ready",
                "healthy": True,
                "in_flight": 0,
                "served": 2,
                "served_draining": 0,
                "failures": 0,
            }
            for node in nodes
        ],
    }


async def test_metrics_are_prometheus_text_from_a_private_registry(start_nodes, start_balancer, client) -> None:
    nodes = await start_nodes(2)
    first = await start_balancer(nodes, routing="sticky")
    second = await start_balancer(nodes[:1], routing="hash")  # a second balancer in one process: no clash
    session = client()
    async with session.get(first.url + "/x") as response:
        assert response.status == 200
    async with session.get(first.url + "/_balancer/metrics") as response:
        assert response.headers["Content-Type"].startswith("text/plain")
        text = await response.text()
    samples = {
        (sample.name, sample.labels.get("upstream") or sample.labels.get("mode")): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }
    assert samples[("balancer_routing_info", "sticky")] == 1
    assert samples[("balancer_redispatches_total", None)] == 0
    assert sum(samples[("balancer_upstream_requests_total", node.url)] for node in nodes) == 1
    assert samples[("balancer_upstream_healthy", nodes[1].url)] == 1
    assert ("balancer_upstream_failures_total", nodes[0].url) in samples
    assert ("balancer_upstream_in_flight", nodes[0].url) in samples
    async with session.get(second.url + "/_balancer/metrics") as response:
        assert 'mode="hash"' in await response.text()


async def test_the_balancer_paths_are_never_proxied(start_nodes, start_balancer, client) -> None:
    nodes = await start_nodes(1)
    balancer = await start_balancer(nodes)
    session = client()
    for method, path in [
        ("GET", "/_balancer/other"),
        ("POST", "/_balancer/status"),
        ("GET", "/_balancer/"),
        ("GET", "/_balancer"),
    ]:
        async with session.request(method, balancer.url + path) as response:
            assert response.status == 404
            assert response.headers["X-Balancer-Error"] == "not_found"
    assert nodes[0].seen == []


async def test_node_replication_paths_are_refused_with_a_404(start_nodes, start_balancer, client) -> None:
    """Replication is node to node: a client reaching /_replication/ through the balancer gets a 404, also when the
    path is spelled so that the node's router would still match it (percent-encoded, doubled slash, dot segments)."""
    nodes = await start_nodes(1)
    balancer = await start_balancer(nodes)
    session = client()
    name = REPLICATION_PREFIX.strip("/")
    paths = [f"/{name}/put", f"/{name}", f"/%5F{name[1:]}/put", f"//{name}/pull", f"/a/../{name}/put?x=1"]
    for method in ("GET", "POST"):
        for path in paths:
            async with session.request(method, URL(balancer.url + path, encoded=True)) as response:
                assert response.status == 404, path
                assert response.headers["X-Balancer-Error"] == "not_found"
    async with session.get(balancer.url + f"/{name}x/put") as response:  # only the prefix itself is refused
        assert response.status == 200
    assert [seen.raw_path for seen in nodes[0].seen] == [f"/{name}x/put"]


async def test_dns_upstreams_are_resolved_before_the_first_request(start_nodes, start_balancer, client) -> None:
    nodes = await start_nodes(1)
    port = int(nodes[0].url.rsplit(":", 1)[1])
    balancer = await start_balancer([], discover=(DnsTarget("localhost", port),))  # localhost: 127.0.0.1 (and ::1)
    assert nodes[0].url in [upstream["url"] for upstream in balancer.status()["upstreams"]]
    async with client().get(balancer.url + "/found") as response:
        assert response.status == 200 and response.headers["X-Node-Id"] == "n0"

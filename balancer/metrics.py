"""What the balancer reports about itself: a JSON status document and the same figures for Prometheus.

Both are read from the registry's counters at request time, so the data path pays nothing per request beyond
the integer updates it already does. Prometheus uses a private CollectorRegistry: several balancers (as in the
tests) can live in one process without clashing in the global one.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, InfoMetricFamily, Metric

import balancer
from balancer.routing import Router
from balancer.upstreams import DOWN, DRAINING, READY
from nodes.contract.service_time import ServiceTimes

STATES = (READY, DRAINING, DOWN)

__all__ = ["CONTENT_TYPE_LATEST", "metrics_registry", "render_metrics", "status_document"]


def status_document(router: Router, service_times: ServiceTimes | None = None) -> dict[str, Any]:
    """GET /_balancer/status: the routing mode, the redispatch count, and each node's state and counters (`state`:
    ready, draining, or down when its health checks fail); `service_time`: the balancer's own time per forwarded
    request (nodes/contract/service_time.py)."""
    members = router.registry.members
    return {
        **({"service_time": service_times.snapshot()} if service_times is not None else {}),
        "routing": router.mode,
        "data_path": balancer.DATA_PATH.kind,  # compiled (mypyc) or interpreted: balancer/data_path.py
        "redispatches": router.redispatches,
        "healthy": sum(1 for upstream in members if upstream.healthy),
        "upstreams": [
            {
                "url": upstream.url,
                "node_id": upstream.node_id,
                "state": upstream.state,
                "healthy": upstream.healthy,
                "in_flight": upstream.in_flight,
                "served": upstream.served,
                "served_draining": upstream.served_draining,
                "failures": upstream.failures,
            }
            for upstream in members
        ],
    }


class BalancerCollector:
    """A prometheus-client collector that reads the router's live counters on each scrape."""

    def __init__(self, router: Router) -> None:
        self._router = router

    def describe(self) -> list[Metric]:
        return []  # the label sets change with membership: nothing to declare up front

    def collect(self) -> Iterator[Metric]:
        router = self._router
        info = InfoMetricFamily("balancer_routing", "The routing mode (BALANCER_ROUTING).", value={"mode": router.mode})
        redispatches = CounterMetricFamily(
            "balancer_redispatches", "Requests whose pinned node was down and that went to another node."
        )
        redispatches.add_metric([], router.redispatches)
        healthy = GaugeMetricFamily("balancer_upstream_healthy", "1 if routing may pick the node.", labels=["upstream"])
        in_flight = GaugeMetricFamily("balancer_upstream_in_flight", "Requests in progress.", labels=["upstream"])
        served = CounterMetricFamily("balancer_upstream_requests", "Responses received.", labels=["upstream"])
        failures = CounterMetricFamily(
            "balancer_upstream_failures", "Connection failures, timeouts and failed checks.", labels=["upstream"]
        )
        state = GaugeMetricFamily(
            "balancer_upstream_state", "1 for the node's state: ready, draining or down.", labels=["upstream", "state"]
        )
        draining = CounterMetricFamily(
            "balancer_upstream_draining_requests",
            "Responses received while the node was draining.",
            labels=["upstream"],
        )
        tunnels = GaugeMetricFamily(
            "balancer_upstream_tunnels", "Open tunnels (WebSocket and other upgraded connections).", labels=["upstream"]
        )
        for upstream in router.registry.members:
            labels = [upstream.url]
            tunnels.add_metric(labels, upstream.tunnels)
            healthy.add_metric(labels, 1 if upstream.healthy else 0)
            in_flight.add_metric(labels, upstream.in_flight)
            served.add_metric(labels, upstream.served)
            failures.add_metric(labels, upstream.failures)
            draining.add_metric(labels, upstream.served_draining)
            for name in STATES:
                state.add_metric([upstream.url, name], 1 if upstream.state == name else 0)
        yield from (info, redispatches, healthy, state, in_flight, served, draining, failures, tunnels)


def metrics_registry(router: Router) -> CollectorRegistry:
    """A private Prometheus registry holding only this balancer's collector."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(BalancerCollector(router))
    return registry


def render_metrics(registry: CollectorRegistry) -> bytes:
    """GET /_balancer/metrics: the Prometheus text exposition format."""
    return generate_latest(registry)

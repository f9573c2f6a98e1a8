"""The servers' own time for one generator's requests: the nodes' and the balancer's counters read around its run.

Every node counts its own time per request (NODE_SERVICE_TIME_PATH) and the balancer its own per forwarded request
(its status document's `service_time`: from the request's turn to its answer's last byte, the node's time
included); both are running totals (nodes/contract/service_time.py). Read before and after one generator's turn,
their difference is exactly that turn's requests (health checks and the lab's own polls are not counted), so
the cross-check can show, beside each generator's p50/p99, how long the servers themselves took for the same
requests: what lies between a generator's figure and the balancer's is the generator's client, the kernel and
the loopback; what lies between the balancer's and the nodes' is the proxy hop.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from loadtest.lab.probe import request
from nodes.contract.names import BALANCER_STATUS_PATH, NODE_SERVICE_TIME_PATH
from nodes.contract.service_time import difference, percentile_ms

BALANCER, NODES = "balancer", "nodes"


def read(balancer_url: str, node_urls: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    """One reading of every server's totals (a server that does not answer reads as empty)."""
    status = request("GET", f"{balancer_url}{BALANCER_STATUS_PATH}", timeout=5.0).json() or {}
    nodes = [request("GET", f"{url}{NODE_SERVICE_TIME_PATH}", timeout=5.0).json() or {} for url in node_urls]
    return {BALANCER: [status.get("service_time") or {}], NODES: nodes}


class ServerClocks:
    """Accumulates, per generator, the servers' own time for the requests of that generator's turns."""

    def __init__(self, balancer_url: str, node_urls: Sequence[str]) -> None:
        self._balancer_url, self._node_urls = balancer_url, list(node_urls)
        self._counts: dict[tuple[str, str], dict[int, int]] = {}

    @contextmanager
    def measuring(self, generator: str) -> Iterator[None]:
        """Count the servers' time of what `generator` sends inside this block."""
        before = read(self._balancer_url, self._node_urls)
        yield
        after = read(self._balancer_url, self._node_urls)
        for side in (BALANCER, NODES):
            counts = self._counts.setdefault((generator, side), {})
            for new, old in zip(after[side], before[side], strict=True):
                for index, n in difference(new, old).items():
                    counts[index] = counts.get(index, 0) + n

    def figures(self, generator: str) -> dict[str, Any]:
        """`{balancer_p50_ms, balancer_p99_ms, balancer_requests, nodes_p50_ms, ...}` for one generator."""
        out: dict[str, Any] = {}
        for side in (BALANCER, NODES):
            counts = self._counts.get((generator, side), {})
            out[f"{side}_p50_ms"] = _round(percentile_ms(counts, 50))
            out[f"{side}_p99_ms"] = _round(percentile_ms(counts, 99))
            out[f"{side}_requests"] = sum(counts.values())
        return out


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)

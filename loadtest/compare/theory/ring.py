"""The balancer's actual hash ring over a cluster's node URLs, probed with a fixed set of session-like ids.

The theory's ~1/n is for an ideal ring; the real one (160 points per node, placed by hashing the node's URL)
gives each node somewhat more or less, and which ids move depends on where they sit. So the lab follows a
fixed sample of ids through the balancer's own `HashRing`: the owner of each under any set of nodes, each
node's share, and the share that moves when the set changes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import fields

from balancer.routing.hash import HashRing
from balancer.settings import BalancerSettings

SAMPLES = 20_000  # probe ids: a share is then known to about ±0.35 points (1 sigma)
# the lab leaves BALANCER_HASH_VNODES at the balancer's default
DEFAULT_VNODES = int(next(f.default for f in fields(BalancerSettings) if f.name == "hash_vnodes"))  # type: ignore[arg-type]


class ProbeRing:
    """Owners of a fixed sample of ids on the ring the balancer builds over these nodes' URLs (cached per set).

    `url_of` maps node ids to the URLs the balancer hashes; without it the node ids themselves are hashed.
    """

    def __init__(self, url_of: Mapping[str, str] | None = None, vnodes: int = DEFAULT_VNODES,
                 samples: int = SAMPLES) -> None:  # fmt: skip
        self._url_of = dict(url_of or {})
        self._vnodes = vnodes
        self.keys = tuple(f"sessionlab-probe-{index}" for index in range(samples))
        self._owners: dict[frozenset[str], tuple[str, ...]] = {}

    def owners(self, nodes: Sequence[str]) -> tuple[str, ...]:
        """The node owning each probe id when the ring holds `nodes`."""
        key = frozenset(nodes)
        if key not in self._owners:
            node_of = {self._url_of.get(node, node): node for node in nodes}
            ring = HashRing(sorted(node_of), self._vnodes)
            self._owners[key] = tuple(node_of[ring.lookup(probe)] for probe in self.keys)
        return self._owners[key]

    def shares(self, nodes: Sequence[str]) -> dict[str, float]:
        """Each node's share of the ids (of the key space)."""
        counts = Counter(self.owners(nodes))
        return {node: counts.get(node, 0) / len(self.keys) for node in nodes}

    def moved(self, before: Sequence[str], after: Sequence[str]) -> float:
        """The share of ids whose node changes when the ring over `before` becomes the ring over `after`."""
        pairs = zip(self.owners(before), self.owners(after), strict=True)
        return sum(old != new for old, new in pairs) / len(self.keys)

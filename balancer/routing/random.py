"""`random`: each request goes to a node drawn uniformly from the available ones (healthy, not draining)."""

from __future__ import annotations

import random

from balancer.routing.base import NoHealthyUpstream, Route, RouteInput, RoutingPolicy, route_to
from balancer.upstreams import Membership
from nodes.contract.names import RANDOM


class RandomPolicy(RoutingPolicy):
    """Uniform over healthy nodes: no state, no affinity; the baseline that shared session stores need."""

    name = RANDOM

    def __init__(self, rng: random.Random | None = None) -> None:
        # `Random.random` is one C call; `Random.choice` is two Python calls (choice, _randbelow) per request.
        # int(random() * n) is uniform up to 2**-53 for the handful of nodes a balancer has.
        self._random = (rng or random.Random()).random

    def choose(self, request: RouteInput, view: Membership) -> Route:
        available = view.available
        if not available:
            raise NoHealthyUpstream
        return route_to(available[int(self._random() * len(available))])

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
        self._choice = (rng or random.Random()).choice

    def choose(self, request: RouteInput, view: Membership) -> Route:
        if not view.available:
            raise NoHealthyUpstream
        return route_to(self._choice(view.available))

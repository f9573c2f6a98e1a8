"""`round_robin`: strict rotation over the available nodes (healthy and not draining)."""

from __future__ import annotations

import itertools

from balancer.routing.base import NoHealthyUpstream, Route, RouteInput, RoutingPolicy, route_to
from balancer.upstreams import Membership
from nodes.contract.names import ROUND_ROBIN


class RoundRobinPolicy(RoutingPolicy):
    """Each request goes to the next healthy node in membership order."""

    name = ROUND_ROBIN

    def __init__(self) -> None:
        self._counter = itertools.count()

    def choose(self, request: RouteInput, view: Membership) -> Route:
        healthy = view.available
        if not healthy:
            raise NoHealthyUpstream
        return route_to(healthy[next(self._counter) % len(healthy)])

"""Routing: one small policy interface, one module per policy, and the router the data path calls."""

from __future__ import annotations

from typing import TYPE_CHECKING

from balancer.routing.base import NoHealthyUpstream, Route, RouteInput, RouteRequest, RoutingPolicy
from balancer.routing.hash import HashPolicy
from balancer.routing.random import RandomPolicy
from balancer.routing.round_robin import RoundRobinPolicy
from balancer.routing.route import RoutePolicy
from balancer.routing.sticky import StickyPolicy
from balancer.upstreams import Upstream, UpstreamRegistry
from nodes.contract.registry import Registry

if TYPE_CHECKING:
    from balancer.settings import BalancerSettings

# Every policy BALANCER_ROUTING can select, by its `name`; adding one: its module, then one entry here.
POLICIES: Registry[type[RoutingPolicy]] = Registry.of_named(
    "routing policy", (RandomPolicy, RoundRobinPolicy, StickyPolicy, HashPolicy, RoutePolicy)
)

__all__ = [
    "POLICIES",
    "NoHealthyUpstream",
    "Route",
    "RouteInput",
    "RouteRequest",
    "Router",
    "RoutingPolicy",
    "create_policy",
]


def create_policy(settings: BalancerSettings) -> RoutingPolicy:
    """The policy BALANCER_ROUTING names, built from the settings it needs."""
    return POLICIES[settings.routing].from_settings(settings)


class Router:
    """Routes a request through the policy over the current view; the one place that counts redispatches."""

    def __init__(self, policy: RoutingPolicy, registry: UpstreamRegistry) -> None:
        self.policy = policy
        self.registry = registry
        self.redispatches = 0

    @property
    def mode(self) -> str:
        return self.policy.name

    def route(self, request: RouteInput, exclude: Upstream | None = None) -> Route:
        """Pick a healthy node (never `exclude`, the one that just failed); raise NoHealthyUpstream if none."""
        view = self.registry.view if exclude is None else self.registry.view.without(exclude)
        if not view.serving:
            raise NoHealthyUpstream
        chosen = self.policy.choose(request, view)
        if chosen.redispatched:
            self.redispatches += 1
        return chosen

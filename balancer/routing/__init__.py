"""Routing: one small policy interface, one module per policy, and the router the data path calls."""

from __future__ import annotations

from typing import TYPE_CHECKING

from balancer.routing import hash, random, round_robin, route, sticky  # noqa: F401 - importing registers them
from balancer.routing.base import POLICIES, NoHealthyUpstream, Route, RouteRequest, RoutingPolicy
from balancer.upstreams import Upstream, UpstreamRegistry

if TYPE_CHECKING:
    from balancer.settings import BalancerSettings

__all__ = ["NoHealthyUpstream", "Route", "RouteRequest", "Router", "RoutingPolicy", "create_policy"]


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

    def route(self, request: RouteRequest, exclude: Upstream | None = None) -> Route:
        """Pick a healthy node (never `exclude`, the one that just failed); raise NoHealthyUpstream if none."""
        view = self.registry.view if exclude is None else self.registry.view.without(exclude)
        if not view.serving:
            raise NoHealthyUpstream
        chosen = self.policy.choose(request, view)
        if chosen.redispatched:
            self.redispatches += 1
        return chosen

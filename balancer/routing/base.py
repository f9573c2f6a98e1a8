"""The routing interface: a policy picks one healthy upstream for a request it sees only through a tiny view.

Policies see neither the parser nor the connections, only a `RouteRequest` and a `Membership` snapshot, so the
data path and the policies change independently. Each policy is one class in its own module, registered
under the value `BALANCER_ROUTING` takes to select it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Protocol, Self

from balancer.upstreams import Membership, Upstream

if TYPE_CHECKING:
    from balancer.settings import BalancerSettings


class NoHealthyUpstream(Exception):
    """No node may take this request (every one is down, draining or excluded): the data path answers 503."""


def available(view: Membership) -> tuple[Upstream, ...]:
    """The nodes that may take a new client; raises NoHealthyUpstream when there is none."""
    if not view.available:
        raise NoHealthyUpstream
    return view.available


@dataclass(frozen=True, slots=True)
class RouteRequest:
    """What routing may know about a request: its Cookie header(s) and its session-token header."""

    cookie: str = ""  # every Cookie header of the request, joined with "; "
    session_token: str | None = None  # the X-Session-Token header (BALANCER_SESSION_HEADER), if sent


class RouteInput(Protocol):
    """What a policy reads from a request: a `RouteRequest`, or the data path's forwarded head, which carries the
    same two fields (so routing a request allocates nothing for its input)."""

    @property
    def cookie(self) -> str: ...

    @property
    def session_token(self) -> str | None: ...


@dataclass(frozen=True, slots=True)
class Route:
    """A routing decision: the node, and what the response must tell the client about it."""

    upstream: Upstream
    set_cookie: str | None = None  # a Set-Cookie value to add to the response (sticky's affinity cookie)
    redispatched: bool = False  # the client was pinned to a node that can no longer serve it


_PLAIN_ROUTES: dict[Upstream, Route] = {}


def route_to(upstream: Upstream) -> Route:
    """The decision "this node, nothing to tell the client": made once per node and reused (a Route is immutable),
    so the common decision allocates nothing."""
    route = _PLAIN_ROUTES.get(upstream)
    if route is None:
        if len(_PLAIN_ROUTES) >= 1024:  # nodes come and go: forget the old ones now and then
            _PLAIN_ROUTES.clear()
        route = _PLAIN_ROUTES[upstream] = Route(upstream)
    return route


class RoutingPolicy(ABC):
    """Pick a node for one request: a new client among `view.available` (see `available`), a client pinned to a
    node among `view.serving` (draining nodes keep their pinned clients where the policy says so)."""

    name: ClassVar[str]
    affinity_cookie: str | None = None  # a cookie of the balancer's own, hidden from the nodes

    @classmethod
    def from_settings(cls, settings: BalancerSettings) -> Self:
        return cls()

    @abstractmethod
    def choose(self, request: RouteInput, view: Membership) -> Route: ...

"""`route`: the node a session reference names, as Tomcat's jvmRoute does with mod_jk.

Nodes run with SESSION_ROUTE_TAG append their node id to every session reference they issue, in the cookie and in
the X-Session-Token header: `<reference>.<node id>` (ROUTE_SEPARATOR; a reference never holds a "."). The balancer
sends the request to the upstream whose health-check answers carry that X-Node-Id: no state and no cookie of its
own, so app clients without a cookie jar are pinned too, whatever the store.

- A tag naming a node that is unknown (not yet checked, or not a member), down or draining: the request goes to an
  available node chosen by consistent hash of the reference (counted as a redispatch); that node re-issues the
  reference with its own tag on its next write, and the client follows it from then on.
- No tagged reference (no session yet, `X-Session-Token: new`, a reference from a node that does not tag): round
  robin, as sticky places new clients.
- The tag only routes: forging one moves nothing but the forger's own requests, and a node still decides alone
  whether the reference is a session it knows.
- Nodes started without SESSION_ROUTE_TAG issue untagged references, and route silently becomes round robin: after
  UNTAGGED_WARNING requests carrying a reference with no tag, and none with one, the balancer logs it once.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Self

from balancer.cookies import cookie_value
from balancer.routing.base import Route, RouteInput, RoutingPolicy, route_to
from balancer.routing.hash import HashPolicy
from balancer.routing.round_robin import RoundRobinPolicy
from balancer.upstreams import Membership
from nodes.contract.names import NO_TOKEN_YET, ROUTE, ROUTE_SEPARATOR

if TYPE_CHECKING:
    from balancer.settings import BalancerSettings

log = logging.getLogger("balancer.routing")
UNTAGGED_WARNING = 100  # untagged references seen, and no tagged one, before the balancer says why route does nothing


class RoutePolicy(RoutingPolicy):
    """The tag after the reference's first "." names the node; a tag that names no available node is redispatched
    by hash of the reference."""

    name = ROUTE

    def __init__(self, session_cookie: str, vnodes: int = 160) -> None:
        self._session_cookie = session_cookie
        self._by_hash = HashPolicy(session_cookie, vnodes)
        self._first_pick = RoundRobinPolicy()
        self._untagged = 0  # references without a tag; -1 once a tagged one came (or the warning was given)

    @classmethod
    def from_settings(cls, settings: BalancerSettings) -> Self:
        return cls(settings.session_cookie, settings.hash_vnodes)

    def choose(self, request: RouteInput, view: Membership) -> Route:
        reference = cookie_value(request.cookie, self._session_cookie) or request.session_token or ""
        session, tagged, node_id = reference.partition(ROUTE_SEPARATOR)
        if not tagged:
            if reference and reference.lower() != NO_TOKEN_YET:  # as the node reads it: not a reference
                self._count_untagged()
            return self._first_pick.choose(request, view)
        self._untagged = -1
        upstream = view.routes.get(node_id)
        if upstream is not None:
            return route_to(upstream)
        return Route(self._by_hash.owner(session, view), redispatched=True)

    def _count_untagged(self) -> None:
        if self._untagged < 0:
            return
        self._untagged += 1
        if self._untagged >= UNTAGGED_WARNING:
            self._untagged = -1
            log.warning("route routing: %d requests carried a session reference without a route tag and none with "
                        "one: are the nodes started with SESSION_ROUTE_TAG=1? Until they tag, route places every "
                        "request round robin", UNTAGGED_WARNING)  # fmt: skip

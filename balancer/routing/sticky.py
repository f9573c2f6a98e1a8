"""`sticky`: the balancer pins each client to a node with a cookie of its own, like HAProxy's
`cookie SERVERID insert indirect nocache` plus `option redispatch`.

The cookie value is an HMAC of the node's URL under BALANCER_ROUTE_SECRET: opaque (never the address),
unforgeable without the secret, and verifiable by a restarted balancer, so affinity survives restarts.
A draining node keeps the clients pinned to it, as HAProxy's `state drain` does, until it is removed or down;
new clients never land on it.

With BALANCER_STICKY_TTL the cookie gets that Max-Age and is re-issued on every answer, so it lapses only after
that long without a request (an idle client is then placed anew, like HAProxy's `maxidle` or an AWS ALB's
duration-based stickiness); without it the cookie lasts the browser session and is set once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import TYPE_CHECKING, Self

from balancer.cookies import affinity_set_cookie, cookie_value
from balancer.routing.base import Route, RouteRequest, RoutingPolicy
from balancer.routing.round_robin import RoundRobinPolicy
from balancer.upstreams import Membership
from nodes.contract.names import STICKY

if TYPE_CHECKING:
    from balancer.settings import BalancerSettings

TOKEN_LENGTH = 22  # 16 bytes of HMAC-SHA256, url-safe base64 without padding


class StickyPolicy(RoutingPolicy):
    """A valid cookie for a healthy node routes there; anything else gets a node and a fresh cookie."""

    name = STICKY

    def __init__(self, cookie_name: str, secret: bytes, max_age: int = 0) -> None:
        self.affinity_cookie = self._cookie = cookie_name
        self._secret = secret
        self._max_age = max_age  # BALANCER_STICKY_TTL; 0: a browser-session cookie, set once
        self._first_pick = RoundRobinPolicy()  # new clients are spread evenly, as HAProxy's default balance does
        self._token_by_url: dict[str, str] = {}
        self._url_by_token: dict[str, str] = {}

    @classmethod
    def from_settings(cls, settings: BalancerSettings) -> Self:
        return cls(settings.sticky_cookie, settings.route_secret.reveal().encode(), settings.sticky_ttl)

    def token(self, url: str) -> str:
        """The affinity-cookie value that pins a client to the node at `url`."""
        token = self._token_by_url.get(url)
        if token is None:
            digest = hmac.new(self._secret, b"sessionlab-route:" + url.encode(), hashlib.sha256).digest()
            token = base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode()
            self._token_by_url[url] = token
            self._url_by_token[token] = url
        return token

    def choose(self, request: RouteRequest, view: Membership) -> Route:
        value = cookie_value(request.cookie, self._cookie)
        pinned = self._pinned_url(value, view) if value else None
        if pinned is not None:
            for upstream in view.serving:  # a draining node keeps the clients pinned to it
                if upstream.url == pinned:
                    return Route(upstream, self._set_cookie(upstream.url) if self._max_age else None)
        upstream = self._first_pick.choose(request, view).upstream
        return Route(upstream, self._set_cookie(upstream.url), redispatched=pinned is not None)

    def _set_cookie(self, url: str) -> str:
        return affinity_set_cookie(self._cookie, self.token(url), self._max_age)

    def _pinned_url(self, value: str, view: Membership) -> str | None:
        """The node a cookie value names, or None for anything forged, unknown or garbage."""
        url = self._url_by_token.get(value)
        if url is None and len(value) == TOKEN_LENGTH:
            for member in view.members:  # a node seen for the first time (new member, or down since start-up)
                self.token(member.url)
            url = self._url_by_token.get(value)
        return url

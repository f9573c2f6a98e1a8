"""Balancers the lab can put in front of its nodes: one plug-in module each, listed once in `BALANCERS`.

Adding one: a module with a `Balancer` subclass, its template under templates/, its column in mechanisms.TABLE,
its entry below (the order is the report's).
"""

from __future__ import annotations

from loadtest.lab.balancers.apache import Apache
from loadtest.lab.balancers.base import DOWN, DRAINING, READY, Balancer, Front, Upstream
from loadtest.lab.balancers.caddy import Caddy
from loadtest.lab.balancers.haproxy import Haproxy
from loadtest.lab.balancers.mechanisms import BALANCER_NAMES, Mechanism, mechanism
from loadtest.lab.balancers.nginx import Nginx
from loadtest.lab.balancers.sessionlab import Sessionlab
from nodes.contract.registry import Registry

BALANCERS: Registry[type[Balancer]] = Registry.of_named("balancer", (Sessionlab, Nginx, Haproxy, Caddy, Apache))
DEFAULT_BALANCER = "sessionlab"
assert tuple(BALANCERS) == BALANCER_NAMES, "mechanisms.BALANCER_NAMES lists the registry's balancers in its order"


def parse_balancers(text: str) -> tuple[str, ...]:
    """`--balancer LIST|all` as names (a ValueError naming the valid ones for any other name)."""
    names = tuple(BALANCERS) if text.strip() == "all" else tuple(n.strip() for n in text.split(",") if n.strip())
    for name in names:
        BALANCERS[name]  # noqa: B018 - raises UnknownName with the valid names
    return names


__all__ = ["BALANCERS", "DEFAULT_BALANCER", "DOWN", "DRAINING", "READY", "Balancer", "Front", "Mechanism", "Upstream",
           "mechanism", "parse_balancers"]  # fmt: skip

"""steady: the load alone, no event; the baseline every other scenario is read against."""

from __future__ import annotations

from loadtest.compare.scenarios.base import Scenario, register


@register
class Steady(Scenario):
    name = "steady"
    description = "browser and app users for the whole run; nothing else happens"
    in_default = True

    def in_default_matrix(self, store: str, routing: str) -> bool:
        # round_robin is random's twin in theory; the cookie store loses nothing whatever the routing; `route` needs
        # nodes started with SESSION_ROUTE_TAG, which the lab does not do yet
        return routing in ("random", "sticky", "hash") and (store != "cookie" or routing == "random")

"""steady: the load alone, no event; the baseline every other scenario is read against."""

from __future__ import annotations

from loadtest.compare.scenarios.base import Scenario
from loadtest.compare.spec import REDIS_AOF, SYNC_REPLICATED
from nodes.contract.names import COOKIE, MEMORY, RANDOM, ROUTE, STICKY


class Steady(Scenario):
    name = "steady"
    description = "browser and app users for the whole run; nothing else happens"

    def in_default(self, store: str, routing: str) -> bool:
        # memory shows what each routing costs (route: token clients pinned by their token; hash runs in
        # node-failure; round_robin is random's twin in theory); a shared store loses nothing whatever the routing,
        # so one cell each, which is also each store's latency baseline (the replicated store's copies cost time)
        if store == MEMORY:
            return routing in (RANDOM, STICKY, ROUTE)
        return routing == RANDOM and store in (COOKIE, REDIS_AOF, *SYNC_REPLICATED)

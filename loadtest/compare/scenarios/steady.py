"""steady: the load alone, no event; the baseline every other scenario is read against."""

from __future__ import annotations

from loadtest.compare.scenarios.base import Scenario
from nodes.contract.names import HASH, MEMORY, RANDOM, STICKY


class Steady(Scenario):
    name = "steady"
    description = "browser and app users for the whole run; nothing else happens"
    in_default = True

    def in_default_matrix(self, store: str, routing: str) -> bool:
        # memory shows what each routing costs; round_robin is random's twin in theory, and route runs with --all or
        # --routing; shared stores lose nothing whatever the routing, so one cell each (redis + sticky and hash run
        # in the node-failure and membership cells), which keeps the default matrix under 10 minutes
        return (store == MEMORY and routing in (RANDOM, STICKY, HASH)) or routing == RANDOM

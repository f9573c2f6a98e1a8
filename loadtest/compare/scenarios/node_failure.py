"""node-failure: SIGKILL one node halfway through the load, as a crash would, and watch the balancer eject it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from loadtest.compare.scenarios.actions import kill_node
from loadtest.compare.scenarios.base import ErrorTheory, Event, Scenario
from loadtest.compare.spec import REDIS_AOF, SYNC_REPLICATED
from nodes.contract.names import COOKIE, HASH, MEMORY, RANDOM, STICKY

if TYPE_CHECKING:
    from loadtest.compare.spec import CellSpec, Kill

VICTIM = "node-1"


class NodeFailure(Scenario):
    name = "node-failure"
    survives = "node kill"
    description = f"{VICTIM} is SIGKILLed at the run's midpoint; the balancer must eject it"

    def in_default(self, store: str, routing: str) -> bool:
        # memory: what a kill costs pinned (sticky) and hashed users (random misses (N-1)/N already in steady); a
        # shared store loses nothing whatever the routing (sticky: redispatch), so one cell each
        if store == MEMORY:
            return routing in (STICKY, HASH)
        return (store, routing) in ((REDIS_AOF, STICKY), (COOKIE, RANDOM)) or (
            store in SYNC_REPLICATED and routing == RANDOM
        )

    def events(self, spec: CellSpec) -> list[Event]:
        return [Event(at=0.5 * spec.duration, action=kill_node(VICTIM), what=f"SIGKILL {VICTIM}")]

    def disruption(self, records: Sequence[Mapping[str, Any]]) -> Kill | None:
        from loadtest.compare.spec import Kill

        kill = next((r for r in records if r.get("killed")), None)
        if kill is None:
            return None
        after = kill.get("ejected_after_s")
        return Kill(kill["killed"], float(kill["t"]), None if after is None else float(kill["t"]) + float(after))

    def error_theory(self, spec: CellSpec) -> ErrorTheory:
        return ErrorTheory(None, "requests in flight on the killed node, and those sent to it before the health "
                           "check ejects it, fail (502); how many depends on timing, so they are reported")  # fmt: skip

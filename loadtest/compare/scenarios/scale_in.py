"""scale-in: at the midpoint one node is drained, then (--drain-seconds later) removed and stopped.

Memory: spread users strand the drained node's sessions at once, hash users whose ids it owned move, sticky users
pinned to it keep it while it drains and miss once when it is removed. Cookie and redis lose nothing and, with
the node drained before it goes, fail no request.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from loadtest.compare.scenarios import membership as M
from loadtest.compare.scenarios.base import Event
from loadtest.compare.spec import REDIS_AOF
from nodes.contract.names import STICKY

if TYPE_CHECKING:
    from loadtest.compare.spec import CellSpec

MIN_DURATION = 12.0


class ScaleIn(M.MembershipScenario):
    name = "scale-in"
    survives = "scale"
    description = "one node drained at the midpoint, then removed through the runtime API and stopped"

    def in_default(self, store: str, routing: str) -> bool:
        # Redis through a scale event; memory's loss shows in node-failure and rolling-deploy, and scale-out (the
        # ring moving 1/(N+1) of the ids) runs with --all or --scenario, which keeps the default under 10 minutes
        return (store, routing) == (REDIS_AOF, STICKY)

    def duration(self, spec: CellSpec) -> float:
        return max(spec.duration, math.ceil(MIN_DURATION + spec.drain_seconds))  # locust takes whole seconds

    def events(self, spec: CellSpec) -> list[Event]:
        name, at = f"node-{spec.nodes}", (self.duration(spec) - spec.drain_seconds) / 2
        clock = M.DrainClock(spec.drain_seconds)
        return [Event(at, M.drain(name, clock), f"drain {name}"),
                Event(at + spec.drain_seconds, M.remove(name, clock), f"remove {name}")]  # fmt: skip

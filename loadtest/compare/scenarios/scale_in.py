"""scale-in: at the midpoint one node is drained, then (--drain-seconds later) removed and stopped.

Memory: spread users strand the drained node's sessions at once, hash users whose ids it owned move, sticky users
pinned to it keep it while it drains and miss once when it is removed. Cookie and redis lose nothing and, with
the node drained before it goes, fail no request.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from loadtest.compare.churn_theory import THEORY_ROUTINGS
from loadtest.compare.scenarios import membership as M
from loadtest.compare.scenarios.base import ErrorTheory, Event, RunTimeline, Scenario, register
from loadtest.compare.theory import Expectation
from loadtest.lab.cluster import ClusterConfig

if TYPE_CHECKING:
    from loadtest.compare.cells import CellSpec

MIN_DURATION = 12.0
DEFAULT_CELLS = (("memory", "sticky"), ("memory", "hash"), ("redis", "sticky"))


@register
class ScaleIn(Scenario):
    name = "scale-in"
    description = "one node drained at the midpoint, then removed through the runtime API and stopped"
    in_default = True
    interleaved = False
    default_routings = THEORY_ROUTINGS  # `route` has no membership-change theory yet

    def cluster(self, config: ClusterConfig) -> ClusterConfig:
        return M.tolerant(config)

    def duration(self, spec: CellSpec) -> float:
        return max(spec.duration, math.ceil(MIN_DURATION + spec.drain_seconds))  # locust takes whole seconds

    def in_default_matrix(self, store: str, routing: str) -> bool:
        return (store, routing) in DEFAULT_CELLS

    def events(self, spec: CellSpec) -> list[Event]:
        name, at = f"node-{spec.nodes}", (self.duration(spec) - spec.drain_seconds) / 2
        clock = M.DrainClock(spec.drain_seconds)
        return [Event(at, M.drain(name, clock), f"drain {name}"),
                Event(at + spec.drain_seconds, M.remove(name, clock), f"remove {name}")]  # fmt: skip

    def timeline_theory(self, spec: CellSpec, run: RunTimeline) -> tuple[Expectation, dict[str, Any]] | None:
        return M.judge(spec, run)

    def error_theory(self, spec: CellSpec) -> ErrorTheory:
        return M.drained_errors()

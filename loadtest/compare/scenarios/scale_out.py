"""scale-out: the run starts with N nodes; at the midpoint one more starts and is added through the runtime API.

Memory + hash: users whose ids the ring moves to the new node miss (the ring's actual movement is compared with
1/(N+1)); sticky keeps its pins, so the new node gets only new clients; random and round robin go from (N-1)/N
to N/(N+1). The record shows each node's share of requests before and after.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from loadtest.compare.scenarios import membership as M
from loadtest.compare.scenarios.base import Event, RunTimeline
from loadtest.compare.theory.model import Expectation
from loadtest.compare.theory.ring import ProbeRing
from loadtest.lab.cluster import ClusterConfig

if TYPE_CHECKING:
    from loadtest.compare.spec import CellSpec

MIN_DURATION = 14.0


class ScaleOut(M.MembershipScenario):
    name = "scale-out"
    survives = "scale"
    description = "one more node started and added through the runtime API at the midpoint"

    def cluster(self, config: ClusterConfig) -> ClusterConfig:
        return replace(M.tolerant(config), spares=1)  # started with the others: adding it is one runtime call

    def duration(self, spec: CellSpec) -> float:
        return max(spec.duration, MIN_DURATION)

    def events(self, spec: CellSpec) -> list[Event]:
        name = f"node-{spec.nodes + 1}"
        # the node is a spare started with the cluster (a Python start takes 2-18 s on a loaded 2-core machine,
        # which would move the event by that much): the runtime call that adds it is the event
        return [Event(self.duration(spec) / 2, M.add(name), f"add {name} (a spare started with the cluster)")]

    def timeline_theory(self, spec: CellSpec, run: RunTimeline) -> tuple[Expectation, dict[str, Any]] | None:
        judged = M.judge(spec, run)
        return None if judged is None else (judged[0], {**judged[1], **ring_movement(spec, run)})


def ring_movement(spec: CellSpec, run: RunTimeline) -> dict[str, Any]:
    """The balancer's ring: the share of ids the new node takes over, against the ideal 1/(N+1)."""
    urls: dict[str, str] = {}
    for record in run.events:
        urls.update(record.get("node_urls", {}))
    before = [f"node-{index}" for index in range(1, spec.nodes + 1)]
    after = [*before, f"node-{spec.nodes + 1}"]
    if not set(after) <= set(urls):
        return {}
    return {"ring_moved_share": round(ProbeRing(urls).moved(before, after), 4), "ideal_moved_share": 1 / len(after)}

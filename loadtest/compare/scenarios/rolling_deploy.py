"""rolling-deploy: every node in turn is drained, stopped with SIGTERM, started again on its address and made ready.

One node at a time, spread over the run. `--deploy-mode kill` is the contrast: SIGKILL, no drain, restart.
Cookie and redis lose no session (and with drain fail no request); memory loses the sessions of each restarted
node, as `loadtest.compare.theory.churn` derives per routing mode and user kind.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from loadtest.compare.scenarios import membership as M
from loadtest.compare.scenarios.base import ErrorTheory, Event, RunTimeline
from loadtest.compare.spec import REDIS_AOF, SYNC_REPLICATED
from loadtest.compare.theory.model import Expectation
from nodes.contract.names import MEMORY, RANDOM, STICKY

if TYPE_CHECKING:
    from loadtest.compare.spec import CellSpec

DEPLOY_MODES = ("drain", "kill")
LEAD = 2.0  # seconds of load before the first node goes (hash users settle on the ring first)
RESTART = 6.0  # seconds budgeted per node for SIGTERM, a new process and the balancer's health check
TAIL = 3.5  # seconds of load after the last node is back (re-logins after the last change settle)


def slot(spec: CellSpec) -> float:
    """Seconds between two nodes' turns."""
    return (spec.drain_seconds if spec.deploy_mode == "drain" else 0.0) + RESTART


class RollingDeploy(M.MembershipScenario):
    name = "rolling-deploy"
    survives = "deploy"
    description = "each node in turn drained (--drain-seconds), SIGTERMed, restarted and made ready; --deploy-mode kill"

    def in_default(self, store: str, routing: str) -> bool:
        # every deploy restarts every node: memory + sticky (Tomcat's default) loses the restarted nodes' sessions,
        # Redis must show it keeps them, and the replicated store that its copies survive a restart
        return (store, routing) in ((MEMORY, STICKY), (REDIS_AOF, STICKY)) or (
            store in SYNC_REPLICATED and routing == RANDOM
        )

    def duration(self, spec: CellSpec) -> float:
        return max(spec.duration, math.ceil(LEAD + spec.nodes * slot(spec) + TAIL))  # locust takes whole seconds

    def events(self, spec: CellSpec) -> list[Event]:
        events, clock = [], M.DrainClock(spec.drain_seconds)
        for index in range(spec.nodes):
            name, at = f"node-{index + 1}", LEAD + index * slot(spec)
            if spec.deploy_mode == "kill":
                events += [Event(at, M.kill(name), f"SIGKILL {name}"),
                           Event(at, M.restart(name, then_ready=False), f"restart {name}")]  # fmt: skip
            else:
                stop = at + spec.drain_seconds
                events += [Event(at, M.drain(name, clock), f"drain {name}"),
                           Event(stop, M.stop(name, clock), f"SIGTERM {name}"),
                           Event(stop, M.restart(name, then_ready=True), f"restart {name}")]  # fmt: skip
        return events

    def timeline_theory(self, spec: CellSpec, run: RunTimeline) -> tuple[Expectation, dict[str, Any]] | None:
        judged = M.judge(spec, run)
        if judged is None:
            return None
        return judged[0], {**judged[1], "deploy_mode": spec.deploy_mode, "drain_seconds": spec.drain_seconds}

    def error_theory(self, spec: CellSpec) -> ErrorTheory:
        if spec.deploy_mode == "kill":
            return ErrorTheory(None, "SIGKILL fails the requests in flight on each node (a POST cut off is not "
                               "replayed): how many depends on timing, so they are reported")  # fmt: skip
        return M.drained_errors()

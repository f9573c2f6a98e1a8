"""What rolling-deploy, scale-out and scale-in share: the runtime-API actions, and judging a run by its changes.

Each action records, beside its outcome, the membership `changes` it made (LEAVE, UNPIN, JOIN of
`loadtest.compare.theory.churn`, with how many seconds after the event's start each happened) and the nodes'
URLs, so the theory can follow the balancer's own hash ring. The theory then splits the run's per-second
timeline at those changes into epochs and predicts misses from each epoch's session requests.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from loadtest.compare.scenarios.base import Action, ErrorTheory, RunTimeline, Scenario
from loadtest.compare.theory.churn import (
    JOIN,
    KINDS,
    LEAVE,
    THEORY_ROUTINGS,
    THEORY_STORES,
    UNPIN,
    Change,
    ChurnExpectation,
    ChurnExposure,
    expect_churn,
)
from loadtest.compare.theory.model import Expectation
from loadtest.compare.theory.ring import ProbeRing
from loadtest.lab.cluster import ClusterConfig
from loadtest.lab.control import ClusterControl
from nodes.contract.names import MEMORY

if TYPE_CHECKING:
    from loadtest.compare.spec import CellSpec

ADMIT_TIMEOUT = 15.0  # seconds for the balancer to see a (re)started node healthy
# A node that answers its health check slowly while a 2-core machine is saturated (a restart importing aiohttp,
# locust, other programs) is not a dead one; a stopped node is refused at once whatever the timeout.
HEALTH_TIMEOUT = ("BALANCER_HEALTH_TIMEOUT", "5")


def tolerant(config: ClusterConfig) -> ClusterConfig:
    """The cluster of a membership scenario: health checks that wait out a busy machine."""
    return replace(config, extra_env=(*config.extra_env, HEALTH_TIMEOUT))


ERROR_BOUND = 0.001  # drained changes may fail this fraction of requests (a kept-alive connection closing)


def _urls(control: ClusterControl) -> dict[str, str]:
    return {member.name: member.url for member in control.cluster.nodes}


def _change(node: str, what: str, after: float = 0.0) -> dict[str, Any]:
    return {"node": node, "what": what, "after_s": round(after, 3)}


class DrainClock:
    """When each node began to drain, so the step after it waits out the drain even when the timeline runs late
    (a slow restart before it delays every later event)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._began: dict[str, float] = {}

    def began(self, name: str) -> None:
        self._began[name] = time.monotonic()

    def wait(self, name: str) -> float:
        """Sleep until the node has drained `seconds`; returns how long that took."""
        left = self._began.get(name, 0.0) + self.seconds - time.monotonic()
        if left > 0:
            time.sleep(left)
        return max(left, 0.0)


def drain(name: str, clock: DrainClock) -> Action:
    """Drain a node: no new clients (a LEAVE for rotation and ring; sticky keeps its pins)."""

    def act(control: ClusterControl) -> dict[str, Any]:
        control.drain(name)
        clock.began(name)
        return {"outcome": f"{name} draining", "changes": [_change(name, LEAVE)], "node_urls": _urls(control)}

    return act


def stop(name: str, clock: DrainClock) -> Action:
    """After the drain, SIGTERM a node and wait for its exit (graceful: in-flight requests finish). Its pinned
    clients go (UNPIN)."""

    def act(control: ClusterControl) -> dict[str, Any]:
        waited = clock.wait(name)
        status = control.stop_node(name)
        return {"outcome": f"drained {clock.seconds:g}s, SIGTERM: {name} exited with status {status}",
                "stopped": name, "changes": [_change(name, UNPIN, waited)]}  # fmt: skip

    return act


def kill(name: str) -> Action:
    """SIGKILL a node, no drain (the contrast): it leaves and its pins go at once; in-flight requests fail."""

    def act(control: ClusterControl) -> dict[str, Any]:
        control.kill_node(name)
        return {"outcome": f"SIGKILL {name}", "killed": name, "node_urls": _urls(control),
                "changes": [_change(name, LEAVE), _change(name, UNPIN)]}  # fmt: skip

    return act


def restart(name: str, *, then_ready: bool) -> Action:
    """Start a new process on the node's address; once the balancer sees it healthy, make it ready (drain mode) or
    let it take work at once (kill mode: it was never drained). JOIN when it takes new clients."""

    def act(control: ClusterControl) -> dict[str, Any]:
        began = time.monotonic()
        control.start_node(name)
        seen = control.wait_state(name, "draining" if then_ready else "ready", ADMIT_TIMEOUT)
        if then_ready:
            control.ready(name)
        after = time.monotonic() - began
        how = "made ready" if then_ready else "taking work again"
        return {"outcome": f"{name} restarted, {how} {after:.1f}s later" + ("" if seen else " (not seen healthy)"),
                "started": name, "changes": [_change(name, JOIN, after)]}  # fmt: skip

    return act


def add(name: str) -> Action:
    """Add a spare node (started with the cluster, ready) through the runtime API; JOIN once its check passed."""

    def act(control: ClusterControl) -> dict[str, Any]:
        began = time.monotonic()
        control.add(name)
        seen = control.wait_state(name, "ready", ADMIT_TIMEOUT)
        after = time.monotonic() - began
        return {"outcome": f"{name} added, taking work {after:.1f}s later" + ("" if seen else " (not seen ready)"),
                "added": name, "node_urls": _urls(control), "changes": [_change(name, JOIN, after)]}  # fmt: skip

    return act


def remove(name: str, clock: DrainClock) -> Action:
    """After the drain, remove the node from the balancer, then stop it: its pinned clients go (UNPIN)."""

    def act(control: ClusterControl) -> dict[str, Any]:
        waited = clock.wait(name)
        control.remove(name)
        status = control.stop_node(name)
        return {"outcome": f"drained {clock.seconds:g}s, {name} removed, then stopped (status {status})",
                "removed": name, "changes": [_change(name, UNPIN, waited)]}  # fmt: skip

    return act


# -- judging a run by its changes ----------------------------------------------------------------------------


def changes_of(events: Sequence[Mapping[str, Any]]) -> tuple[Change, ...]:
    """The membership changes the actions recorded, at seconds since the load started, in time order."""
    found = [Change(float(record["t"]) + float(c.get("after_s", 0.0)), str(c["node"]), str(c["what"]))
             for record in events for c in record.get("changes", [])]  # fmt: skip
    return tuple(sorted(found, key=lambda change: change.at))


def epoch_requests(rows: Sequence[Mapping[str, Any]], bounds: Sequence[float]) -> dict[str, list[float]]:
    """Session requests per kind in each epoch between `bounds` (a second split by a bound is shared pro rata)."""
    edges = [float("-inf"), *bounds, float("inf")]
    counts = {kind: [0.0] * (len(bounds) + 1) for kind in KINDS}
    for row in rows:
        t = float(row["t"])
        for index in range(len(edges) - 1):
            share = _overlap(t, t + 1, edges[index], edges[index + 1])
            for kind, (requests, _) in row["by_kind"].items():
                counts.setdefault(kind, [0.0] * (len(bounds) + 1))[index] += requests * share
    return counts


def _overlap(start: float, end: float, low: float, high: float) -> float:
    return max(min(end, high) - max(start, low), 0.0) / (end - start)


def measured_shares(rows: Sequence[Mapping[str, Any]], low: float, high: float) -> dict[str, float]:
    """Each node's share of the requests answered in the whole seconds within [low, high)."""
    served: dict[str, float] = {}
    for row in rows:
        if float(row["t"]) >= low and float(row["t"]) + 1 <= high:
            for node, n in row.get("nodes", {}).items():
                if not node.startswith("("):
                    served[node] = served.get(node, 0.0) + n
    total = sum(served.values())
    return {node: round(n / total, 4) for node, n in sorted(served.items())} if total else {}


def route_unmodelled(spec: CellSpec) -> str | None:
    """memory + route through a membership change: the churn theory has no route yet (`has_theory`), and the steady
    model's 0 knows nothing of a drain (asked for by name: the membership scenarios leave route out of their cells).
    The other stores lose nothing when a node leaves, so the steady model's 0 holds for them."""
    if has_theory(spec) or spec.store != MEMORY:
        return None
    return (f"route through {spec.scenario}: when a node leaves, the users whose reference names it move (ours "
            "redispatches them by hash as soon as the node drains; a balancer whose drain keeps tagged clients "
            "moves them when the node stops), and the churn theory does not model route yet, so the misses are "
            "shown, not judged")  # fmt: skip


def has_theory(spec: CellSpec) -> bool:
    """Whether churn_theory covers this cell (not yet: `route` routing, the replicated store)."""
    return spec.routing in THEORY_ROUTINGS and spec.store in THEORY_STORES


def judge(spec: CellSpec, run: RunTimeline) -> tuple[Expectation, dict[str, Any]] | None:
    """The expectation of a membership-change cell, and the fields its record adds (epochs, per-node shares);
    None where the theory has nothing to say (the cell is then judged by the steady model)."""
    if not has_theory(spec):
        return None
    end = max((float(row["t"]) + 1 for row in run.rows), default=0.0)
    changes = tuple(change for change in changes_of(run.events) if change.at < end)  # later ones met no load
    urls: dict[str, str] = {}
    for record in run.events:
        urls.update(record.get("node_urls", {}))
    first = tuple(f"node-{index}" for index in range(1, spec.nodes + 1))
    requests = epoch_requests(run.rows, [change.at for change in changes])
    exposure = ChurnExposure(first, run.users, requests, changes)
    expectation = expect_churn(spec.routing, spec.store, exposure, ProbeRing(urls))
    return expectation.as_expectation(), churn_fields(expectation, run.rows, changes)


def churn_fields(expectation: ChurnExpectation, rows: Sequence[Mapping[str, Any]],
                 changes: Sequence[Change]) -> dict[str, Any]:  # fmt: skip
    """Per epoch: when, who took work, expected miss rate, expected and measured node shares."""
    epochs = []
    for index, epoch in enumerate(expectation.epochs):
        end = changes[index].at if index < len(changes) else float("inf")
        epochs.append({"start_s": round(epoch.start, 3), "available": list(epoch.available),
                       "expected_rate": round(epoch.rate, 4),
                       "expected_node_share": {n: round(s, 4) for n, s in epoch.node_share.items()},
                       "node_share": measured_shares(rows, epoch.start, end)})  # fmt: skip
    return {
        "changes": [{"t": round(c.at, 3), "node": c.node, "what": c.what} for c in changes],
        "expected_misses_by_change": [round(m, 2) for m in expectation.change_misses],
        "epochs": epochs,
    }


def drained_errors() -> ErrorTheory:
    return ErrorTheory(0, f"nodes leave drained and stop gracefully: no request should fail (at most "
                       f"{ERROR_BOUND:.1%} of requests, for a kept-alive connection the node closes as a request "
                       "is sent on it)", allowed_rate=ERROR_BOUND)  # fmt: skip


class MembershipScenario(Scenario):
    """What every membership change shares: one cell per routing with a theory (`route` has none yet), health
    checks that tolerate a loaded machine, judged on its changes and on drained errors."""

    routings = THEORY_ROUTINGS

    def cluster(self, config: ClusterConfig) -> ClusterConfig:
        return tolerant(config)

    def timeline_theory(self, spec: CellSpec, run: RunTimeline) -> tuple[Expectation, dict[str, Any]] | None:
        return judge(spec, run)

    def error_theory(self, spec: CellSpec) -> ErrorTheory:
        return drained_errors()

    def unmodelled(self, spec: CellSpec) -> str | None:
        return route_unmodelled(spec)

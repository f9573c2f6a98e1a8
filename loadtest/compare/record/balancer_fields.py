"""What every cell records about its balancer: the mechanism it ran, and the measures where real balancers differ.

Per session the distinct nodes that served it; per user the re-pins (an answer from another node than the last)
after the run's first event; affinity cookies re-issued under users that held one; failed requests split
idempotent / non-idempotent; after a scale-out the seconds until the new node reaches 80% of its fair share.
Whether a cell is judged against theory: where the balancer's mechanism is the one the theory models.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from loadtest.compare.record.model import FailedCell
from loadtest.compare.record.model import Identity as IdentityRecord
from loadtest.compare.spec import CellSpec
from loadtest.lab.balancers import BALANCERS
from loadtest.lab.balancers.mechanisms import THEORY_ROUTING, mechanism
from loadtest.users import tally as T

IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
FAIR_SHARE = 0.8  # a new node has "arrived" at this fraction of its fair share of requests


def theory_routing(spec: CellSpec) -> str | None:
    """The routing whose theory describes this balancer's mechanism, where it differs from the cell's."""
    return THEORY_ROUTING.get((spec.balancer, spec.routing))


def not_modelled(spec: CellSpec, disturbed: bool) -> str | None:
    """Why theory does not judge this cell (None: it does). Ours is what the theory models; a steady run is
    modelled on any balancer, and so is a reload; a node kill on one with active health checks too; the rest is
    measured only."""
    if spec.balancer == "sessionlab" or not disturbed or spec.scenario == "balancer-reload":
        return None  # a reload changes no membership: misses follow the steady model on any balancer
    plugin = BALANCERS[spec.balancer]
    if spec.scenario == "node-failure" and plugin.name != "nginx":
        return None
    if plugin.name == "nginx" and spec.scenario == "node-failure":
        return ("nginx's health checks are passive (max_fails, fail_timeout): the requests that reach the dead node "
                "before each worker gives up on it are not modelled")  # fmt: skip
    return (f"{spec.balancer}'s own behaviour through {spec.scenario} (its control plane, health checks, retries and "
            "cookie re-issue) is not modelled: the theory models ours; the measurement is shown")  # fmt: skip


def identity_of(spec: CellSpec) -> IdentityRecord:
    """The cell's identity, its balancer included."""
    return IdentityRecord(spec.routing, spec.store, spec.scenario, spec.effective_consistency, spec.replication,
                          spec.nodes, spec.users, spec.duration, spec.balancer)  # fmt: skip


def identity(spec: CellSpec) -> dict[str, Any]:
    """The balancer and its mechanism for this cell's routing."""
    plugin = BALANCERS[spec.balancer]
    return {
        "balancer": spec.balancer,
        "balancer_mechanism": mechanism(spec.balancer, spec.routing).describe(),
        "balancer_control_plane": plugin.control_plane,
        "balancer_drain": plugin.drain_means,
    }


def measures(stats: Mapping[str, Any], totals: Mapping[str, int], events: Sequence[Mapping[str, Any]],
             rows: Sequence[Mapping[str, Any]], nodes: int) -> dict[str, Any]:  # fmt: skip
    """The new measures, from the locust tally and the timeline's events."""
    by_method = T.labels(totals, T.ERRORS_BY_METHOD)
    sessions = {int(k): v for k, v in T.labels(totals, T.SESSION_NODES).items()}
    count = sum(sessions.values())
    first = min((float(e["t"]) for e in events if "t" in e), default=None)
    start = float(stats.get("test_start") or 0.0)
    return {
        "errors_idempotent": sum(n for method, n in by_method.items() if method in IDEMPOTENT),
        "errors_non_idempotent": sum(n for method, n in by_method.items() if method not in IDEMPOTENT),
        "errors_by_method": by_method,
        "distinct_nodes_per_session": {str(k): sessions[k] for k in sorted(sessions)},
        "distinct_nodes_per_session_mean": round(sum(k * v for k, v in sessions.items()) / count, 3) if count else None,
        "repins": T.measure_total(totals, T.REPINS),
        "repins_after_event": _after(stats.get("per_second", {}), start, first, T.REPINS),
        "repins_by_kind": T.labels(totals, T.REPINS),  # app clients hold no affinity cookie: spread, they re-pin often
        "cookie_reissued": T.measure_total(totals, T.COOKIE_REISSUED),
        "cookie_reissued_after_event": _after(stats.get("per_second", {}), start, first, T.COOKIE_REISSUED),
        **fair_share(events, rows, nodes),
        **({"users_by_replica": spread} if (spread := T.labels(totals, T.REPLICA)) else {}),
    }


def _after(per_second: Mapping[str, Mapping[str, int]], start: float, at: float | None, measure: str) -> int | None:
    if at is None:
        return None
    return sum(T.measure_total(c, measure) for s, c in per_second.items() if int(s) - start >= at)


def fair_share(events: Sequence[Mapping[str, Any]], rows: Sequence[Mapping[str, Any]], nodes: int) -> dict[str, Any]:
    """After a node was added: seconds until it served 80% of its fair share of a second's requests."""
    added = next((e for e in events if e.get("added")), None)
    if added is None:
        return {}
    at = float(added["t"]) + max((float(c.get("after_s", 0.0)) for c in added.get("changes", [])), default=0.0)
    fair = 1 / (nodes + 1)
    for row in rows:
        served = {n: v for n, v in row.get("nodes", {}).items() if not n.startswith("(")}
        total = sum(served.values())
        if float(row["t"]) + 1 > at and total and served.get(added["added"], 0) / total >= FAIR_SHARE * fair:
            return {"fair_share_s": round(max(float(row["t"]) + 1 - at, 0.0), 1), "fair_share": round(fair, 4)}
    return {"fair_share_s": None, "fair_share": round(fair, 4)}


def not_offered_cell(spec: CellSpec, reason: str) -> FailedCell:
    """The record of a cell whose balancer does not offer its routing mode: it says so, and why."""
    return FailedCell(identity_of(spec), spec.workers, f"not offered: {reason}", "not offered", {"not_offered": reason})


def skipped_cell(spec: CellSpec, line: str) -> FailedCell:
    """The record of a cell whose balancer's binary is not installed."""
    return FailedCell(identity_of(spec), spec.workers, f"skipped: {line}", "skipped", {"skipped": line})

"""The theory of affinity agreement (`--balancer-replicas`): where the mechanism decides it, every replica sends a
session to the same node; where each replica places sessions on its own, the share is measured, not modelled.

- the affinity cookie names the node (ours: an HMAC of the node under the same BALANCER_ROUTE_SECRET; HAProxy
  `cookie … insert`: the server's name; Caddy `lb_policy cookie`: a hash of the upstream's address; Apache: the
  member's `route=`): every replica reads it the same way, 1.0;
- a hash over the same key and the same members (nginx `hash … consistent`, HAProxy `hash-type consistent`, Caddy's
  rendezvous hash, ours): a deterministic function of the configuration, 1.0;
- the route tag in the session id: 1.0 where the balancer reads it from the client's reference;
- random or rotating placement, app clients without an affinity cookie under a cookie-based mode, and local
  learned state (an HAProxy stick table without `peers`): each replica decides alone, not modelled.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from loadtest.compare.record.model import Verdict
from loadtest.compare.spec import CellSpec
from loadtest.lab.balancers.mechanisms import THEORY_ROUTING
from nodes.contract.names import HASH, ROUTE, STICKY

DETERMINED = {
    STICKY: "the affinity cookie names the node: every replica reads it the same way",
    HASH: "every replica hashes the same key over the same members",
    ROUTE: "the route tag in the session id names the node",
}
OWN_PLACEMENT = "each replica places the session on its own (no shared state): measured, not modelled"


def theory(spec: CellSpec, *, app: bool) -> tuple[float | None, str]:
    """The agreement the mechanism determines (None: not modelled) and why."""
    if spec.routing not in DETERMINED:
        return None, OWN_PLACEMENT
    if app and spec.routing == STICKY:
        return None, "app clients carry no affinity cookie: " + OWN_PLACEMENT
    if app and THEORY_ROUTING.get((spec.balancer, spec.routing)):
        return None, f"{spec.balancer} reads the route tag from the cookie only: " + OWN_PLACEMENT
    return 1.0, DETERMINED[spec.routing]


def fields(spec: CellSpec, measured: Mapping[str, Any]) -> dict[str, Any]:
    """The measured shares with their theory, for results.json."""
    found = dict(measured)
    for key, app in (("affinity_agreement", False), ("affinity_agreement_app", True)):
        expected, why = theory(spec, app=app)
        found[f"{key}_theory"] = expected
        found[f"{key}_explanation"] = why
    return found


def verdict(spec: CellSpec, measured: Mapping[str, Any]) -> Verdict:
    """Every theory-determined share is exactly what the mechanism says (no tolerance: the mechanism is exact)."""
    judged = []
    for key, app in (("affinity_agreement", False), ("affinity_agreement_app", True)):
        expected, _ = theory(spec, app=app)
        if expected is not None and measured.get(key) is not None:
            judged.append(measured[key] == expected)
    return Verdict("affinity_agrees_with_theory", "affinity agreement", all(judged) if judged else None)

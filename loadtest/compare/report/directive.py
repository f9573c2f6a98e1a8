"""Where the Recommendation's choice is set: behind which balancer it was measured, and the directive that gives its
routing there, with that balancer's drain. The words come from the one mode → mechanism table and the plug-ins
(loadtest/lab/balancers), which the generated configs are rendered from, so they cannot drift apart
(tests/loadtest/lab/balancers/test_mechanisms.py finds every quoted directive in its config)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from loadtest.compare.report.grid import ordered
from loadtest.lab.balancers import BALANCERS
from loadtest.lab.balancers.mechanisms import BALANCER_NAMES, LABELS, mechanism
from loadtest.render.format import pct

Cell = Mapping[str, Any]


def behind(routing: str, cells: Sequence[Cell]) -> str:
    """ "Behind HAProxy: `cookie …` + `option redispatch`; drain: `set server …`." for each balancer the choice lost
    nothing behind (else the one it lost least behind), and what it lost behind the others."""
    names = ordered((str(c.get("balancer", "sessionlab")) for c in cells), BALANCER_NAMES)
    if not names:
        return ""
    worst = {name: _worst(c for c in cells if c.get("balancer", "sessionlab") == name) for name in names}
    kept = [name for name in names if worst[name] == (0.0, 0)]
    chosen = kept or [min(names, key=lambda name: worst[name])]
    said = [f"{LABELS.get(name, name)}: {mechanism(name, routing).describe()}; drain: {BALANCERS[name].drain_means}"
            for name in chosen]  # fmt: skip
    lost = [f"{LABELS.get(n, n)} missed up to {pct(worst[n][0])}" for n in names if n not in chosen]
    return " Behind " + "; behind ".join(said) + "." + (f" Not as well behind {', '.join(lost)}." if lost else "")


def _worst(cells: Any) -> tuple[float, int]:
    """The worst miss rate and the sessions lost over some cells."""
    found = list(cells)
    return max((float(c["miss_rate"]) for c in found), default=0.0), sum(
        int(c.get("sessions_lost") or 0) for c in found
    )

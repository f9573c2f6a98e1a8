"""The design's claims, measured: the design this lab came from says Tomcat-style session synchronisation makes user
requests wait, that Redis-shared sessions survive node changes, and that app clients should carry a token. One line
per claim from results.json alone, each ending "holds", "holds with a cost of …" or "does not hold here, because …".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from loadtest.compare.report.decision import NODE_EVENTS, fault_only, kind_rate, undisturbed
from loadtest.compare.report.recommend import Cell, Choice, choices, session_cells
from loadtest.compare.report.table import sessions_lost_text, store_text
from loadtest.compare.scenarios import SCENARIOS
from loadtest.render.format import ms, pct

WRITE = "POST /counter"  # the load's session write (loadtest.users), timed per request by the lab's tally
NOISE_MS = 0.5  # a p50 difference below this is the machine's noise, not a cost
COMPARED_NODES = (3, 5)  # the node counts the design's replication claim is about


@dataclass(frozen=True)
class Claim:
    claim: str
    verdict: str  # "holds", "holds with a cost of …", "does not hold here, because …", or "not measured: …"
    figures: dict[str, Any] = field(default_factory=dict)
    evidence: str = ""  # the measured figures in words, before the verdict

    def line(self) -> str:
        said = f": {self.evidence}" if self.evidence else ""
        return f"{self.claim}{said} — {self.verdict}."

    def as_json(self) -> dict[str, Any]:
        return {key: value for key, value in asdict(self).items() if key != "evidence"}


def _scenario(cell: Cell) -> str | None:
    scenario = SCENARIOS.get(str(cell["scenario"]))
    return scenario.survives if scenario is not None else None


def _steady(cells: Sequence[Cell], store: str, routing: str | None, nodes: int) -> Cell | None:
    """The undisturbed session cell of one posture (or any posture of a family) and routing at a node count."""
    found = [c for c in session_cells(cells) if _scenario(c) is None and c.get("nodes") == nodes
             and (store_text(c) == store or c["store"] == store) and routing in (None, c["routing"])]  # fmt: skip
    return found[0] if found else None


def _write_times(cell: Cell) -> tuple[float | None, float | None]:
    """p50 and p99 of the session write, ms (the cell's p99 where the write's own was not recorded)."""
    p50 = cell.get("p50_ms_by_request", {}).get(WRITE)
    p99 = cell.get("p99_ms_by_request", {}).get(WRITE, cell.get("p99_ms"))
    return p50, p99


def _added(cell: Cell, base: Cell | None) -> dict[str, float] | None:
    (p50, p99), (b50, b99) = _write_times(cell), _write_times(base) if base else (None, None)
    if None in (p50, p99, b50, b99):
        return None
    return {"p50_ms": round(float(p50) - float(b50), 2), "p99_ms": round(float(p99) - float(b99), 2)}  # type: ignore[arg-type]


def _signed(value: float) -> str:
    return f"{'+' if value >= 0 else '−'}{ms(abs(value))} ms"


def sync_replication(cells: Sequence[Cell]) -> Claim:
    """Synchronous copies make requests wait: the write's p50/p99 added against memory + sticky and Redis."""
    claim = "Synchronous replication makes requests wait"
    synced = [c for c in session_cells(cells) if c["store"] == "replicated" and str(c.get("replication", "")).endswith(
        "-sync") and _scenario(c) is None]  # fmt: skip
    if not synced:
        return Claim(claim, "not measured: no synchronous replicated cell ran (`--store replicated`)")
    figures: dict[str, Any] = {"measured_nodes": sorted({int(c["nodes"]) for c in synced}), "rows": []}
    words: list[str] = []
    costs: list[tuple[float, float, str, int]] = []
    for cell in synced:
        nodes = int(cell["nodes"])
        memory, redis = _steady(cells, "memory", "sticky", nodes), _steady(cells, "redis", None, nodes)
        vs_memory, vs_redis = _added(cell, memory), _added(cell, redis)
        p50, p99 = _write_times(cell)
        figures["rows"].append({"store": store_text(cell), "nodes": nodes, "write_p50_ms": p50, "write_p99_ms": p99,
                                "vs_memory_sticky": vs_memory, "vs_redis": vs_redis})  # fmt: skip
        against = [("memory + sticky", vs_memory), (store_text(redis) if redis else "redis", vs_redis)]
        said = ", ".join(f"{_signed(a['p50_ms'])} p50 / {_signed(a['p99_ms'])} p99 against {name}"
                         for name, a in against if a)  # fmt: skip
        words.append(f"{store_text(cell)} at {nodes} nodes: {said or 'no baseline cell to compare with'}")
        if vs_memory:
            costs.append((vs_memory["p50_ms"], vs_memory["p99_ms"], store_text(cell), nodes))
    missing = [n for n in COMPARED_NODES if n not in figures["measured_nodes"]]
    counts = "" if not missing else (f" (measured at {', '.join(map(str, figures['measured_nodes']))} nodes only; "
                                     f"`--nodes {','.join(map(str, COMPARED_NODES))}` adds the others)")  # fmt: skip
    evidence = "per session write, " + "; ".join(words) + counts
    if not costs:
        return Claim(claim, "not measured: no memory + sticky cell at the same node count", figures, evidence)
    if max(costs)[0] <= NOISE_MS:
        return Claim(claim, f"does not hold here, because the synchronous copies added at most "
                     f"{_signed(max(costs)[0])} to a write's p50 on loopback (a network between the nodes adds its "
                     "round trip per copy)", figures, evidence)  # fmt: skip
    each = ", ".join(f"{_signed(p50)} p50 and {_signed(p99)} p99 per write for {store} at {nodes} nodes"
                     for p50, p99, store, nodes in costs)  # fmt: skip
    return Claim(claim, f"holds with a cost of {each} (against memory + sticky)", figures, evidence)


def redis_node_changes(cells: Sequence[Cell]) -> Claim:
    """Redis-shared sessions survive node changes: the misses of redis cells through kill, deploy and scale."""
    claim = "Redis-shared sessions survive node changes"
    moved = [c for c in session_cells(cells) if c["store"] == "redis" and _scenario(c) in NODE_EVENTS]
    if not moved:
        return Claim(claim, "not measured: no redis cell went through a node kill, deploy or scale")
    figures = {"by_scenario": {str(c["scenario"]): {"misses": c["misses"], "session_requests": c["session_requests"],
                                                    "routing": c["routing"]} for c in moved}}  # fmt: skip
    events = sorted({str(_scenario(c)) for c in moved})
    absent = [e for e in NODE_EVENTS if e not in events]
    evidence = "; ".join(f"{c['routing']} / {c['scenario']}: {c['misses']:,} of {c['session_requests']:,} "
                         "requests missed" for c in moved)  # fmt: skip
    evidence += f" ({', '.join(absent)} not measured)" if absent else ""
    missed = [c for c in moved if c["misses"]]
    if missed:
        return Claim(claim, "does not hold here, because " + ", ".join(
            f"{c['scenario']} missed {pct(c['miss_rate'])}" for c in missed), figures, evidence)  # fmt: skip
    faults = [c for c in session_cells(cells) if c["store"] == "redis" and c.get("sessions_checked")]
    figures["store_faults"] = {store_text(c): {"scenario": c["scenario"], "sessions_lost": c.get("sessions_lost", 0),
                                               "sessions_checked": c["sessions_checked"]} for c in faults}  # fmt: skip
    lost = [c for c in faults if c.get("sessions_lost")]
    if not lost:
        return Claim(claim, "holds", figures, evidence)
    kept = [store_text(c) for c in faults if not c.get("sessions_lost")]
    cost = "; ".join(f"{store_text(c)} lost {sessions_lost_text(c)} sessions in {c['scenario']}" for c in lost)
    spared = f" ({', '.join(kept)}: none)" if kept else ""
    return Claim(claim, f"holds with a cost of Redis itself becoming the store to keep: {cost}{spared}", figures,
                 evidence)  # fmt: skip


def tokens(cells: Sequence[Cell]) -> Claim:
    """App clients carry a token: sticky cannot pin them; route and shared stores can."""
    claim = "Tokens for app clients, with sessions shared in Redis"
    options = choices(cells)
    rate = {o.name: kind_rate(undisturbed(o, cells), "app") for o in options}

    def share(option: Choice) -> str:
        misses, requests = rate[option.name]
        return f"{option.name} {pct(misses / requests)}" if requests else f"{option.name} -"

    sticky = [o for o in options if o.routing == "sticky" and o.family == "memory" and rate[o.name][1]]
    route = [o for o in options if o.routing == "route" and o.family == "memory" and rate[o.name][1]]
    shared = [o for o in options if o.family != "memory" and rate[o.name][1] and not fault_only(o)]
    figures = {"app_miss_rate": {o.name: (rate[o.name][0] / rate[o.name][1]) for o in (*sticky, *route, *shared)}}
    redis = [o for o in shared if o.family == "redis"]
    if not redis:
        return Claim(claim, "not measured: no redis cell ran with app users", figures)
    evidence = "app users' miss rate when nothing happens: " + ", ".join(share(o) for o in (*sticky, *route, *shared))
    missed = [o for o in redis if rate[o.name][0]]
    if missed:
        return Claim(claim, "does not hold here, because " + ", ".join(share(o) for o in missed) + " missed too",
                     figures, evidence)  # fmt: skip
    if not sticky:
        return Claim(claim, "holds (memory + sticky, which cannot pin them, did not run)", figures, evidence)
    return Claim(claim, "holds" if all(rate[o.name][0] for o in sticky) else "does not hold here, because "
                 "memory + sticky kept app users' sessions too", figures, evidence)  # fmt: skip


def design_claims(cells: Sequence[Cell]) -> list[Claim]:
    return [sync_replication(cells), redis_node_changes(cells), tokens(cells)]


def as_json(claims: Sequence[Claim]) -> list[dict[str, Any]]:
    """meta.design_claims in results.json."""
    return [claim.as_json() for claim in claims]

"""The report's decision: per thing a team may be unable to afford, the choices that survive it in this run and the
measured figure that decides; then one line for this run's client mix. Computed from results.json alone.

A choice is a store in its posture with a routing (`redis (AOF) + sticky`, recommend.Choice). Each row judges
every choice on one measure only, among the choices that work at all (browser users, who keep cookies, miss at
most MISSES.costly of their requests when nothing happens; memory + random does not): a row survivor may still
fail another row.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from loadtest.compare.report import grades
from loadtest.compare.report.recommend import (
    Cell,
    Choice,
    choices,
    client_mix,
    measured,
    recommend,
    revocation_cell,
    session_cells,
)
from loadtest.compare.report.table import sessions_lost_text
from loadtest.compare.scenarios import SCENARIOS
from loadtest.render.format import ms, pct
from nodes.contract.names import STORES

NODE_EVENTS = ("node kill", "deploy", "scale")  # Scenario.survives of the scenarios that change the nodes
NO_STORE = ("redis",)  # the stores a team must run beside its nodes
SHOWN = 3  # failing choices named per row, worst first


@dataclass(frozen=True)
class Priority:
    """One row: what a team cannot afford, the choices that survive it here, and the figures that decide."""

    priority: str
    choices: list[str]
    because: str

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Decision:
    rows: list[Priority]
    for_this_mix: str


def quiet(choice: Choice, cells: Sequence[Cell]) -> list[Cell]:
    """The cells with no event of the choice, else of its store and routing in another posture (persistence and
    Sentinel change nothing while nothing happens)."""
    own = [c for c in choice.cells if _survives(c) is None]
    same = [c for c in session_cells(cells) if (c["store"], c["routing"]) == (choice.family, choice.routing)]
    return own or [c for c in same if _survives(c) is None]


def undisturbed(choice: Choice, cells: Sequence[Cell]) -> list[Cell]:
    """`quiet` cells, else all the choice's cells (a choice that only ran with events)."""
    return quiet(choice, cells) or list(choice.cells)


def _survives(cell: Cell) -> str | None:
    scenario = SCENARIOS.get(str(cell["scenario"]))
    return scenario.survives if scenario is not None else None


def kind_rate(cells: Sequence[Cell], kind: str) -> tuple[int, int]:
    """(misses, session requests) of one user kind over some cells."""
    parts = [c.get("by_kind", {}).get(kind, {}) for c in cells]
    return sum(int(p.get("misses", 0)) for p in parts), sum(int(p.get("session_requests", 0)) for p in parts)


def works(choice: Choice, cells: Sequence[Cell]) -> bool:
    """Browser users, who keep cookies, miss at most the grid's costly bound when nothing happens."""
    misses, requests = kind_rate(undisturbed(choice, cells), "browser")
    return requests > 0 and misses / requests <= grades.MISSES.costly


def short_names(found: Sequence[str]) -> str:
    """Choice names grouped by posture, for the table: `redis (AOF) + random/sticky, cookie + random`."""
    grouped: dict[str, list[str]] = {}
    for name in found:
        store, plus, routing = name.rpartition(" + ")
        grouped.setdefault(store if plus else name, []).append(routing if plus else "")
    return ", ".join(f"{s} + {'/'.join(r)}" if all(r) else s for s, r in grouped.items()) or "none in this run"


def _rate(misses: int, requests: int) -> str:
    return pct(misses / requests) if requests else "-"


def app_clients(options: Sequence[Choice], cells: Sequence[Cell]) -> Priority:
    """App clients send a token, never a cookie: a choice survives when they missed nothing while nothing happened."""
    rates = {o.name: kind_rate(undisturbed(o, cells), "app") for o in options}
    measured_on = [o for o in options if rates[o.name][1]]
    kept = [o for o in measured_on if rates[o.name][0] == 0]
    lost = sorted((o for o in measured_on if rates[o.name][0]), key=lambda o: -rates[o.name][0] / rates[o.name][1])
    said = [f"{o.name} missed {_rate(*rates[o.name])} of app users' requests (browsers "
            f"{_rate(*kind_rate(undisturbed(o, cells), 'browser'))})" for o in lost[:SHOWN]]  # fmt: skip
    checked = sum(rates[o.name][1] for o in kept)
    said.append(f"the survivors missed 0 of {checked:,} app requests" if kept else "no choice kept them")
    return Priority("app clients without cookies", [o.name for o in kept], "; ".join(said))


def parallel_writes(cells: Sequence[Cell]) -> Priority:
    """Parallel writes to one session: a store and consistency mode survive when they lost no acknowledged write."""
    concurrent = [c for c in measured(cells) if c.get("lost_update_rate") is not None]
    kept = [f"{c['store']} with {c['consistency']}" for c in concurrent if c["increments_lost"] == 0]
    said = [f"{c['store']} with {c['consistency']} lost {c['increments_lost']:,} of {c['increments_acked']:,} "
            f"({pct(c['lost_update_rate'])})" for c in concurrent]  # fmt: skip
    ran = {str(c["store"]) for c in concurrent}
    missing = [
        s for s in (*STORES, "replicated") if s not in ran and any(c["store"] == s for c in session_cells(cells))
    ]
    if missing:
        said.append(f"not measured for {', '.join(missing)} (`--scenario concurrent --store {','.join(missing)}`)")
    return Priority("parallel writes to one session", kept, "; ".join(said) or "not measured in this run")


def revocation(options: Sequence[Choice], cells: Sequence[Cell]) -> Priority:
    """Logout must end every session of the user: a choice survives when no session stayed usable after it."""
    kept: list[str] = []
    outcomes: dict[str, list[str]] = {}
    for option in options:
        found = revocation_cell(option, cells)
        if found is None or found["revocation"].get("until") not in ("expiry", "bound", "revoked"):
            continue
        if found["revocation"]["until"] == "revoked":
            kept.append(option.name)
        outcomes.setdefault(_revocation_words(found), []).append(option.name)
    said = [f"{words}: {'the survivors' if found == kept else short_names(found)}" for words, found in outcomes.items()]
    return Priority("revocation on logout", kept, "; ".join(said) or "not measured (--revocation-bound 0)")


def _revocation_words(cell: Cell) -> str:
    details, usable = cell["revocation"], cell.get("revoked_usable_s")
    if details["until"] == "expiry":
        return f"the other client's session stayed usable until it expires ({details.get('max_age_s', usable)} s idle)"
    if details["until"] == "bound":
        return f"still usable {usable:g} s after logout-all (it reached one node's sessions)"
    return "refused at once after logout-all" if not usable else f"refused {usable:g} s after logout-all"


def no_store(options: Sequence[Choice], cells: Sequence[Cell]) -> Priority:
    """No session store to run: the choices without Redis that kept every session through a node change."""
    moved = [o for o in options if o.family not in NO_STORE and any(_survives(c) in NODE_EVENTS for c in o.cells)]
    kept = [o for o in moved if o.kept_sessions]
    said = [f"{o.name}: 0 missed of {o.checked:,} through {', '.join(o.measured_in())}" for o in kept]
    said += [f"{o.name}: {_worst_event(o)}" for o in moved if not o.kept_sessions][:SHOWN]
    unmoved = [o.name for o in options if o.family not in NO_STORE and o not in moved]
    if unmoved:
        said.append(f"not measured through a node change: {', '.join(unmoved)}")
    return Priority("running no session store", [o.name for o in kept], "; ".join(said) or "no such choice ran")


def _worst_event(choice: Choice) -> str:
    worst = max((c for c in choice.cells if _survives(c) in NODE_EVENTS), key=lambda c: c["miss_rate"])
    return f"{worst['misses']:,} requests missed ({pct(worst['miss_rate'])}) in {worst['scenario']}"


def node_lost(options: Sequence[Choice], cells: Sequence[Cell]) -> Priority:
    """A node (or a zone of them) lost, the session store's own node included: the choices that missed nothing
    and lost no session in any node-change or store-fault cell."""
    events = {o.name: [c for c in o.judged if _survives(c) is not None] for o in options}
    moved = [o for o in options if events[o.name]]
    kept = [o for o in moved if all(not c["misses"] and not c.get("sessions_lost") for c in events[o.name])]
    lost = sorted(
        (o for o in moved if o not in kept),
        key=lambda o: (
            -sum(c.get("sessions_lost") or 0 for c in events[o.name]),
            -max(c["miss_rate"] for c in events[o.name]),
        ),
    )
    said = [f"{o.name}: {_worst_fault(events[o.name])}" for o in lost[:SHOWN]]
    checked = sum(c["session_requests"] for o in kept for c in events[o.name])
    scenarios = sorted({str(c["scenario"]) for o in kept for c in events[o.name]})
    said.append(f"the survivors missed 0 of {checked:,} requests through {', '.join(scenarios)} (one node at a "
                "time; a zone is several at once)" if kept else "no choice kept every session")  # fmt: skip
    return Priority("a node or zone lost", [o.name for o in kept], "; ".join(said))


def _worst_fault(found: Sequence[Cell]) -> str:
    """A store fault's lost sessions first (they are every user's), else the worst miss rate."""
    faulted = [c for c in found if c.get("sessions_lost")]
    if faulted:
        c = faulted[0]
        return f"{sessions_lost_text(c)} sessions lost in {c['scenario']}"
    worst = max(found, key=lambda c: c["miss_rate"])
    return f"{worst['misses']:,} requests missed ({pct(worst['miss_rate'])}) in {worst['scenario']}"


def fault_only(choice: Choice) -> bool:
    """A store posture that ran only store faults (`redis (Sentinel)`): judged on them, not on quiet load."""
    return all(_survives(c) is not None and _about_store(c) for c in choice.cells)


def _about_store(cell: Cell) -> bool:
    scenario = SCENARIOS.get(str(cell["scenario"]))
    return scenario is not None and scenario.about_the_store


def latency(options: Sequence[Choice], cells: Sequence[Cell]) -> Priority:
    """A latency budget: the choices that keep browser sessions with p99 within the grid's fine band, when nothing
    happens, fastest first, each with its p50 and p99."""
    timed = []
    for option in options:
        timed_cells = [c for c in quiet(option, cells) if c.get("p99_ms") is not None]
        if timed_cells:
            p99, p50 = max(c["p99_ms"] for c in timed_cells), max(c.get("p50_ms") or 0.0 for c in timed_cells)
            timed.append((p99, p50, option))
    timed.sort(key=lambda t: t[0])
    kept = [o.name for p99, _, o in timed if p99 <= grades.LATENCY.fine]
    said = [f"{o.name} p50 {ms(p50)} / p99 {ms(p99)} ms" for p99, p50, o in timed]
    bound = f"p99 ≤ {ms(grades.LATENCY.fine)} ms when nothing happens"
    return Priority("latency budget", kept, f"{bound}: " + ", ".join(said) if said else "no timed cell")


def decide(cells: Sequence[Cell], meta: Mapping[str, Any]) -> Decision:
    """The rows, in the order a team usually asks them, and the line for this run's mix."""
    options = [o for o in choices(cells) if works(o, cells)]
    loaded = [o for o in options if not fault_only(o)]  # the rows about quiet load judge each store once
    rows = [app_clients(loaded, cells), parallel_writes(cells), revocation(loaded, cells),
            no_store(options, cells), node_lost(options, cells), latency(loaded, cells)]  # fmt: skip
    mix = f"This run's client mix ({client_mix(meta)}): {recommend(cells, meta).headline}"
    return Decision(rows, mix)


def as_json(decision: Decision, headline: str) -> dict[str, Any]:
    """meta.recommendation in results.json."""
    return {"headline": headline, "for_this_mix": decision.for_this_mix,
            "by_priority": [row.as_json() for row in decision.rows]}  # fmt: skip

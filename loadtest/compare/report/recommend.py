"""The report's Recommendation, every sentence computed from results.json: nothing here is a hand-written verdict.

For the run's client mix (the user kinds it ran), a choice is a store in its posture (`redis (AOF)`, `replicated
all-sync`) with a routing. It "loses nothing" when none of its cells missed a session, no store fault lost an
acknowledged one, its store's default consistency mode lost no parallel write and no session outlived logout-all;
an event that hits the store (a Redis restart or failover: `Scenario.about_the_store`) counts for every routing of
that posture, whichever routing it ran with. Among those, the recommended one was measured in the most scenarios,
then has the best worst grade, then the lowest p99, then the most requests per second; its cost is stated against
the fastest and the cheapest choice.
Then, per scenario, which choices failed it and by how much; then parallel writes (lost updates) per
consistency mode, and cells that disagree with theory.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from statistics import median
from typing import Any

from loadtest.compare.report import grades
from loadtest.compare.report.directive import behind
from loadtest.compare.report.grid import ordered
from loadtest.compare.report.table import sessions_lost_text, store_text
from loadtest.compare.scenarios import SCENARIOS
from loadtest.compare.theory.model import KINDS
from loadtest.render.format import ms as table_ms
from loadtest.render.format import pct
from nodes.contract.names import ROUTING_MODES, STORES, default_consistency

Cell = Mapping[str, Any]
KIND_WORDS = {"browser": "browser users with cookies", "app": "app users with tokens"}


def ms(value: float) -> str:
    return f"{table_ms(value)} ms"


def and_list(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


@dataclass(frozen=True)
class Choice:
    """One store x routing and the cells it ran in (cells measuring lost updates apart: they judge consistency)."""

    store: str
    routing: str
    cells: Sequence[Cell]
    store_cells: Sequence[Cell] = ()  # its store's cells of events that hit the store (any routing): they count too

    @property
    def name(self) -> str:
        return f"{self.store} + {self.routing}"

    @property
    def family(self) -> str:
        """The store whatever its posture (`redis` for `redis (AOF)`): what its consistency and revocation are."""
        return str(self.cells[0]["store"]) if self.cells else self.store.split(" ")[0]

    @property
    def judged(self) -> list[Cell]:
        return [*self.cells, *self.store_cells]

    @property
    def kept_sessions(self) -> bool:
        """No miss, and no session acknowledged before a store fault and gone after it."""
        return all(c["misses"] == 0 and not c.get("sessions_lost") for c in self.judged)

    @property
    def cpu_us(self) -> float | None:
        """The cluster's CPU time per request (nodes, balancer, Redis), median over its cells: what it costs."""
        found = [
            1e6 * c["cluster_cpu_s"] / c["requests"] for c in self.cells if c.get("cluster_cpu_s") and c.get("requests")
        ]
        return median(found) if found else None

    def measured_in(self) -> list[str]:
        return ordered((str(c["scenario"]) for c in self.judged), list(SCENARIOS))

    @property
    def p99(self) -> float:
        return max((c["p99_ms"] for c in self.cells if c.get("p99_ms") is not None), default=float("inf"))

    @property
    def rps(self) -> float:
        return median(float(c.get("rps") or 0.0) for c in self.cells)

    @property
    def checked(self) -> int:
        return sum(int(c.get("session_requests", 0)) for c in self.cells)

    def scenarios(self) -> list[str]:
        return ordered((str(c["scenario"]) for c in self.cells), list(SCENARIOS))


@dataclass(frozen=True)
class Recommendation:
    """A bold headline and the sentences that follow it, all derived from the cells."""

    headline: str
    intro: str  # the client mix and scenarios the sentences hold for
    lines: list[str]


def measured(cells: Sequence[Cell]) -> list[Cell]:
    return [c for c in cells if "miss_rate" in c]


def session_cells(cells: Sequence[Cell]) -> list[Cell]:
    """The measured cells that judge sessions; concurrent cells judge lost updates, apart."""
    return [c for c in measured(cells) if "lost_update_rate" not in c]


def choices(cells: Sequence[Cell]) -> list[Choice]:
    """Every store x routing that ran outside the concurrent scenario, in the report's order."""
    plain = session_cells(cells)
    pairs = dict.fromkeys((store_text(c), str(c["routing"])) for c in plain)
    families = ordered((str(c["store"]) for c in plain), STORES)
    family_of = {store_text(c): families.index(str(c["store"])) for c in plain}
    postures = {s: i for i, s in enumerate(dict.fromkeys(s for s, _ in pairs))}
    order = {r: i for i, r in enumerate(ordered((r for _, r in pairs), ROUTING_MODES))}
    pairs_sorted = sorted(pairs, key=lambda p: (family_of[p[0]], postures[p[0]], order[p[1]]))
    return [Choice(s, r, [c for c in plain if (store_text(c), c["routing"]) == (s, r)],
                   [c for c in plain if store_text(c) == s and c["routing"] != r and _about_the_store(c)])
            for s, r in pairs_sorted]  # fmt: skip


def _about_the_store(cell: Cell) -> bool:
    scenario = SCENARIOS.get(str(cell["scenario"]))
    return scenario is not None and scenario.about_the_store


def client_mix(meta: Mapping[str, Any]) -> str:
    kinds = [k for k in meta.get("user_kinds", KINDS)]
    return and_list([KIND_WORDS.get(k, f"{k} users") for k in kinds]) if kinds else "the run's users"


def recommend(cells: Sequence[Cell], meta: Mapping[str, Any]) -> Recommendation:
    """The headline and the sentences of the Recommendation section."""
    options = choices(cells)
    scenarios = ordered((str(c["scenario"]) for c in measured(cells)), list(SCENARIOS))
    intro = f"For this run's clients ({client_mix(meta)}), in the scenarios that ran ({', '.join(scenarios)}):"
    lossless = sorted((o for o in options if not losses(o, cells)), key=lambda o: rank(o, cells))
    named = lossless[0] if lossless else (least_lossy(options, cells) if options else None)
    headline = _headline(lossless, options, cells) + (behind(named.routing, named.cells) if named else "")
    lines = [*_lossless_lines(lossless, options, cells), *_kept_but_lines(options, cells), *_failure_lines(cells),
             *_mix_lines(options, meta)]  # fmt: skip
    lines += _consistency_lines(cells) + _long_lived_lines(cells) + _theory_lines(cells)
    return Recommendation(headline, intro, [line for line in lines if line])


def rank(choice: Choice, cells: Sequence[Cell]) -> tuple[int, int, int, float, float]:
    """Fewer measured caveats, then measured in more scenarios, then a better worst grade over its cells, then
    lower p99, then more rps."""
    worst = grades.worst([grades.grade(c) for c in choice.cells])
    covered = len(choice.measured_in())
    return len(caveats(choice, cells)), -covered, grades.GRADES.index(worst), choice.p99, -choice.rps


def revocation_cell(choice: Choice, cells: Sequence[Cell]) -> Cell | None:
    """The cell that measured logout-all for this choice: its own, else its store's with the same routing (the
    store decides revocation, not its persistence), else, for a shared store, with any routing."""
    own = [c for c in choice.cells if c.get("revocation")]
    same = [c for c in measured(cells) if c.get("revocation") and c["store"] == choice.family]
    routed = [c for c in same if c["routing"] == choice.routing]
    shared = same if choice.family != "memory" else []
    return next(iter(own or routed or shared), None)


def caveats(choice: Choice, cells: Sequence[Cell]) -> list[str]:
    """What a choice costs beyond misses, as measured: sessions outliving logout-all, writes lost in parallel."""
    revoked = revocation_cell(choice, cells)
    found = [_revocation_caveat(revoked)] if revoked else []
    for cell in measured(cells):
        if cell["store"] == choice.family and cell.get("lost_update_rate") and cell["consistency"] == _default(cell):
            found.append(f"its default {cell['consistency']} mode lost {pct(cell['lost_update_rate'])} of parallel "
                         "writes to one session")  # fmt: skip
    return [text for text in found if text]


def losses(choice: Choice, cells: Sequence[Cell]) -> list[str]:
    """Every loss measured for a choice, named as the loss it is; empty: it lost nothing in this run."""
    found = [f"{c['misses']:,} requests missed in {c['scenario']}" for c in choice.judged if c["misses"]]
    found += [f"{sessions_lost_text(c)} sessions lost in {c['scenario']}" for c in choice.judged
              if c.get("sessions_lost")]  # fmt: skip
    return found + caveats(choice, cells)


def _writes_measured(choice: Choice, cells: Sequence[Cell]) -> bool:
    return any(c["store"] == choice.family and c.get("lost_update_rate") is not None for c in measured(cells))


def _default(cell: Cell) -> str:
    return default_consistency(str(cell["store"]))


def _revocation_caveat(cell: Cell) -> str:
    details, usable = cell["revocation"], cell.get("revoked_usable_s")
    if details.get("until") == "expiry":
        return f"a session stayed usable after logout-all until it expires ({details.get('max_age_s', usable)} s idle)"
    if details.get("until") == "bound":
        return f"a session was still usable {usable:g} s after logout-all"
    return ""


def _headline(lossless: Sequence[Choice], options: Sequence[Choice], cells: Sequence[Cell]) -> str:
    if lossless:
        best = lossless[0]
        ran = ordered((str(c["scenario"]) for c in session_cells(cells)), list(SCENARIOS))
        seen = best.measured_in()
        where = "" if seen == ran else f" (measured in {', '.join(seen)} only)"
        untested = "" if _writes_measured(best, cells) else " (parallel writes not measured for it)"
        what = f"no session, no parallel write, no session usable after logout{untested}"
        use = f"Use the {best.store} store with {best.routing} routing"
        if len(lossless) == 1:
            return f"{use}: the only choice that lost nothing{where}: {what}."
        why = "ranked first by scenarios measured, grades and p99"
        return f"{use}: it lost nothing{where}: {what}; {why}."
    if not options:
        return "No cell measured sessions outside the concurrent scenario: nothing to recommend from this run."
    least = least_lossy(options, cells)
    worst = max(c["miss_rate"] for c in least.judged)
    lost = [c for c in least.judged if c.get("sessions_lost")]
    faults = "".join(f"; {sessions_lost_text(c)} sessions lost in {c['scenario']}" for c in lost)
    more = "".join(f"; {text}" for text in caveats(least, cells))
    return (f"No choice lost nothing; the least lossy was {least.name} (at worst {pct(worst)} of requests "
            f"missed{faults}{more}).")  # fmt: skip


def least_lossy(options: Sequence[Choice], cells: Sequence[Cell]) -> Choice:
    lost = {o.name: sum(c.get("sessions_lost") or 0 for c in o.judged) for o in options}
    return min(options, key=lambda o: (max(c["miss_rate"] for c in o.judged), lost[o.name], len(losses(o, cells))))


def _lossless_lines(lossless: Sequence[Choice], options: Sequence[Choice], cells: Sequence[Cell]) -> list[str]:
    if not lossless:
        return []
    fastest = min(options, key=lambda o: o.p99)
    lines = [f"Lost nothing: {and_list([o.name for o in lossless])}."]
    for option in lossless:
        extra = option.p99 - fastest.p99
        cost = "the fastest of all choices" if extra <= 0 else f"{ms(extra)} above {fastest.name}, the fastest choice"
        lines.append(
            f"{option.name}: {option.checked:,} authenticated requests, none missed; p99 {ms(option.p99)} "
            f"({cost}){_cpu(option, options)}; {_throughput(option, options, cells)}; measured in "
            f"{', '.join(option.measured_in())}" + "".join(f"; but {text}" for text in caveats(option, cells)) + "."
        )
    return lines


def _kept_but_lines(options: Sequence[Choice], cells: Sequence[Cell]) -> list[str]:
    """Choices that kept every session yet lost something else: never called lossless, the loss named."""
    return [f"{o.name} kept every session ({o.checked:,} authenticated requests, measured in "
            f"{', '.join(o.measured_in())}), but {'; '.join(caveats(o, cells))}: not lossless."
            for o in options if o.kept_sessions and caveats(o, cells)]  # fmt: skip


def capacity(choice: Choice, cells: Sequence[Cell]) -> float | None:
    """The highest arrival rate within the SLO that a `--capacity` cell of this store and routing found."""
    found = [
        float(c["capacity_rps"])
        for c in cells
        if c.get("capacity_rps") is not None and (c["store"], c["routing"]) == (choice.store, choice.routing)
    ]
    return min(found) if found else None  # fmt: skip


def _cpu(option: Choice, options: Sequence[Choice]) -> str:
    """The cluster's CPU per request against the cheapest choice: the bill a store sends at any load."""
    mine, known = option.cpu_us, [o.cpu_us for o in options if o.cpu_us]
    if not mine or not known:
        return ""
    return f"; cluster CPU {mine:,.0f} µs per request ({mine / min(known):.1f}× the cheapest choice)"


def _throughput(option: Choice, options: Sequence[Choice], cells: Sequence[Cell]) -> str:
    """The capacity where `--capacity` measured it; else the requests/s the run's fixed users drew, said as such."""
    capacities = [found for o in options if (found := capacity(o, cells)) is not None]
    mine = capacity(option, cells)
    if mine is not None:
        slo = next((c.get("capacity_slo_ms") for c in cells if c.get("capacity_slo_ms") is not None), None)
        within = f" with p99 ≤ {ms(float(slo))}" if slo is not None else ""
        return (f"capacity {mine:,.0f} requests/s{within} "
                f"({100 * mine / max(capacities):.0f}% of the highest capacity)")  # fmt: skip
    busiest = max(o.rps for o in options) or 1.0
    return (f"{option.rps:,.0f} requests/s from the run's fixed users ({100 * option.rps / busiest:.0f}% of the "
            "busiest choice; a load, not a capacity: `--capacity` measures that)")  # fmt: skip


def _failure_lines(cells: Sequence[Cell]) -> list[str]:
    """Per scenario: the choices that were costly or broken in it, and what made them so."""
    lines = []
    plain = session_cells(cells)
    for scenario in ordered((str(c["scenario"]) for c in plain), list(SCENARIOS)):
        for grade in (grades.BROKEN, grades.COSTLY):
            hit = [c for c in plain if c["scenario"] == scenario and grades.grade(c) == grade]
            if hit:
                lines.append(f"{grade.capitalize()} in {scenario}: " + "; ".join(_what_failed(c) for c in hit) + ".")
    return lines


def _what_failed(cell: Cell) -> str:
    parts = []
    for band in grades.BANDS:
        grade = grades.grades_of(cell).get(band.key)
        if grade in (grades.COSTLY, grades.BROKEN):
            parts.append(_measure_text(band, cell))
    if cell.get("sessions_lost"):
        parts.append(f"{sessions_lost_text(cell)} sessions lost")
    return f"{cell['store']} + {cell['routing']}: " + ", ".join(parts)


def _measure_text(band: grades.Band, cell: Cell) -> str:
    if band is grades.MISSES:
        return f"{pct(cell['miss_rate'])} of requests missed ({cell['misses']:,} re-logins)"
    if band is grades.ERRORS:
        return f"{cell.get('errors', 0):,} failed request(s)"
    if band is grades.LATENCY:
        return f"p99 {ms(cell['p99_ms'])}"
    return f"{pct(cell['lost_update_rate'])} of acknowledged writes lost"


def _mix_lines(options: Sequence[Choice], meta: Mapping[str, Any]) -> list[str]:
    """Where the client mix decides: a cell that kept one kind's sessions and lost another's; kinds not run."""
    lines = []
    for option in options:
        for cell in option.cells:
            kept, lost = _kinds_kept_and_lost(cell)
            if kept and lost:
                rates = ", ".join(f"{pct(r)} for {KIND_WORDS.get(k, k)}" for k, r in lost.items())
                lines.append(f"In {cell['scenario']}, {option.name} kept every session of "
                             f"{and_list([KIND_WORDS.get(k, k) for k in kept])} but missed {rates}: "
                             "it fits only a mix without them.")  # fmt: skip
    missing = [KIND_WORDS.get(k, k) for k in KINDS if k not in meta.get("user_kinds", KINDS)]
    if missing:
        rerun = f"re-run with --user-kinds {','.join(KINDS)} if you have them"
        lines.append(f"Not measured for {and_list(missing)}: {rerun}.")
    return lines


def _kinds_kept_and_lost(cell: Cell) -> tuple[list[str], dict[str, float]]:
    """User kinds that never missed in this cell, and the miss rate of those that did."""
    parts = {k: p for k, p in cell.get("by_kind", {}).items() if p.get("session_requests")}
    kept = [k for k, p in parts.items() if not p.get("misses")]
    lost = {k: p["misses"] / p["session_requests"] for k, p in parts.items() if p.get("misses")}
    return kept, lost


def _consistency_lines(cells: Sequence[Cell]) -> list[str]:
    """Parallel writes to one session: what each store and consistency mode lost."""
    concurrent = [c for c in measured(cells) if c.get("lost_update_rate") is not None]
    if not concurrent:
        return []
    parts = [
        f"{c['store']} with {c['consistency']} lost {c['increments_lost']:,} of {c['increments_acked']:,} "
        f"({pct(c['lost_update_rate'])})"
        for c in concurrent
    ]
    safe = [f"{c['store']} ({c['consistency']})" for c in concurrent if c["increments_lost"] == 0]
    verdict = f" Only {and_list(safe)} kept every write." if safe else " Every mode that ran lost writes."
    return [f"Parallel writes to one session (acknowledged increments): {'; '.join(parts)}.{verdict}"]


def _long_lived_lines(cells: Sequence[Cell]) -> list[str]:
    """Apps with WebSockets (--long-lived): which choices reconnected without a session miss, and what the store
    cannot save."""
    live = [c for c in measured(cells) if c.get("ws_connects") is not None]
    if not live:
        return []
    missed = {f"{c['store']} + {c['routing']}": 0 for c in live}
    for cell in live:
        missed[f"{cell['store']} + {cell['routing']}"] += int(cell.get("ws_misses") or 0)
    kept = [name for name, n in missed.items() if not n]
    lost = [f"{name} ({n:,} closed with 4401)" for name, n in missed.items() if n]
    found = f"every reconnect found its session with {and_list(kept)}" if kept else "no choice kept every session"
    return [f"Apps with WebSockets: {found}" + (f"; not with {and_list(lost)}" if lost else "") + ". "
            + _transport_sentence(live)]  # fmt: skip


def _transport_sentence(live: Sequence[Cell]) -> str:
    """socket.io's polling-then-upgrade handshake, as measured after each cell's load (when it was)."""
    tried = [c for c in live if c.get("handshake_attempts")]
    refused = sorted({f"{c['store']} + {c['routing']}" for c in tried if c.get("handshake_sid_unknown")})
    upgraded = sorted({f"{c['store']} + {c['routing']}" for c in tried} - set(refused))
    measured = f" (measured: 'Session ID unknown' with {and_list(refused)}" if refused else " (measured: none refused"
    measured += f"; every upgrade reached its node with {and_list(upgraded)})" if upgraded else ")"
    return ("A shared store saves the session on reconnect, but a transport held in one node's memory (socket.io's "
            "polling handshake, the nodes' GET /poll) reaches its node only with affinity, whatever the store"
            + (measured if tried else "") + ": shared store and sticky routing — the store saves the session, only "
            "stickiness saves the transport.")  # fmt: skip


def _theory_lines(cells: Sequence[Cell]) -> list[str]:
    off = [c for c in measured(cells) if not c.get("agrees_with_theory")]
    if not off:
        return []
    names = [f"{c['store']} + {c['routing']} ({c['scenario']})" for c in off]
    return [f"{len(off)} cell(s) disagree with theory and are marked ≠ in the grid: {', '.join(names)}. "
            "Trust them less until the lab or the model is fixed."]  # fmt: skip

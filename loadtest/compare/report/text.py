"""The prose of a compare report, built from the measured numbers: verdicts per store, warnings, sections."""

from __future__ import annotations

from collections.abc import Sequence
from statistics import median
from typing import Any

from loadtest.compare.fidelity import report as fidelity_report
from loadtest.compare.report.grid import off_theory_measures
from loadtest.compare.report.table import (
    KIND_NAMES,
    STORE_NOTES,
    Cell,
    by_status,
    cell_name,
    disagreements,
    error_ceiling,
    lost_text,
    ran,
    revoked_text,
    sessions_lost_text,
    store_text,
)
from loadtest.render.format import pct

# -- plain-language verdicts ------------------------------------------------------------------------------


def store_verdicts(cells: Sequence[Cell]) -> dict[str, str]:
    """One paragraph per store, in the order stores appear, built from the measured numbers."""
    verdicts: dict[str, str] = {}
    for label in dict.fromkeys(store_text(c) for c in ran(cells)):
        mine = [c for c in ran(cells) if store_text(c) == label]
        store = mine[0]["store"]
        if not any(c["misses"] for c in mine):
            verdict = _clean_verdict(store, mine)
        else:
            verdict = _memory_verdict(mine) if store == "memory" else _shared_misses_verdict(store, mine)
        verdicts[label] = verdict + _consistency_text(mine) + _revocation_text(mine)
    return verdicts


def _shared_misses_verdict(store: str, cells: Sequence[Cell]) -> str:
    """A store every node can read that still missed: where, how many, against what theory, and the cause that
    fits this store (replication for the replicated store, the store's own faults for redis)."""
    if store == "redis":
        return _redis_misses_verdict(cells)
    checked, missed = sum(c["session_requests"] for c in cells), sum(c["misses"] for c in cells)
    where = "; ".join(_missed_in(c) for c in cells if c["misses"])
    text = (f"Every node can read every session ({STORE_NOTES.get(store, store)}), yet {missed:,} of {checked:,} "
            f"authenticated requests missed ({where}); see each cell's theory")  # fmt: skip
    if store == "replicated":
        text += " and replication_traffic (failed sends leave a peer out while the balancer still sends it requests)"
    return text + "." + _latency_text(cells)


def _missed_in(cell: Cell) -> str:
    return f"{cell['routing']} / {cell['scenario']}: {cell['misses']:,} (theory {pct(cell.get('expected_miss_rate'))})"


def _redis_misses_verdict(cells: Sequence[Cell]) -> str:
    """Redis misses come from Redis itself (a restart without persistence, a failover's lost writes), not from
    routing: each missing cell with what its store fault measured."""
    checked, missed = sum(c["session_requests"] for c in cells), sum(c["misses"] for c in cells)
    missing = [c for c in cells if c["misses"]]
    faulted = [c for c in missing if _store_fault(c)]
    where = ", all in cells where Redis itself failed." if len(faulted) == len(missing) else "."
    parts = [f"Every node reads and writes sessions in one shared Redis, so no routing strands a session; yet "
             f"{missed:,} of {checked:,} authenticated requests missed{where}"]  # fmt: skip
    for cell in missing:
        if cell not in faulted:
            parts.append(f"{_missed_in(cell)} with no store fault measured; see that cell's theory.")
            continue
        missed_text = f"{cell['misses']:,} requests missed (theory {pct(cell.get('expected_miss_rate'))})"
        parts.append(f"{cell['routing']} / {cell['scenario']}: {_store_fault(cell)}; {missed_text}. "
                     f"Why: {cell.get('theory', '-')}.")  # fmt: skip
    return " ".join(parts) + _latency_text(cells)


def _store_fault(cell: Cell) -> str:
    """What a store fault cost, as the session probe measured it ("" for a cell without one)."""
    parts = []
    if cell.get("outage_s") is not None:
        statuses = by_status(cell)
        failed = f" ({cell.get('errors', 0):,} requests failed, {statuses})" if statuses else ""
        parts.append(f"Redis was out for {cell['outage_s']:.2f} s{failed}")
    if cell.get("sessions_lost") is not None:
        parts.append(f"{sessions_lost_text(cell)} sessions acknowledged before the fault were gone after it")
    return " and ".join(parts)


def _consistency_text(cells: Sequence[Cell]) -> str:
    """What parallel writes to one session cost in this store, per consistency mode."""
    concurrent = [c for c in cells if c.get("lost_update_rate") is not None]
    if not concurrent:
        return ""
    several = len({c["routing"] for c in concurrent}) > 1  # then say which routing each figure comes from
    modes = [f"{c['consistency']} ({c['routing']})" if several else c["consistency"] for c in concurrent]
    parts = [f"{mode} lost {lost_text(c)}" for mode, c in zip(modes, concurrent, strict=True)]
    return " Parallel writes to one session: " + ", ".join(parts) + " of acknowledged increments."


def _revocation_text(cells: Sequence[Cell]) -> str:
    """How long the user's other session outlived /logout-all in this store."""
    outcomes = list(dict.fromkeys(revoked_text(c) for c in cells if c.get("revocation")))
    if not outcomes:
        return ""
    return f" After /logout-all the user's other session stayed usable: {' / '.join(outcomes)}."


def _latency_text(cells: Sequence[Cell]) -> str:
    p50 = [c["p50_ms"] for c in cells if c.get("p50_ms") is not None]
    p95 = [c["p95_ms"] for c in cells if c.get("p95_ms") is not None]
    if not p50:
        return ""
    return f" Latency (median over its cells): p50 {median(p50):g} ms, p95 {median(p95):g} ms."


def _clean_verdict(store: str, cells: Sequence[Cell]) -> str:
    checked = sum(c["session_requests"] for c in cells)
    killed = any(c.get("killed_node") for c in cells)
    routings = ", ".join(dict.fromkeys(c["routing"] for c in cells))
    errors = sum(c.get("errors", 0) for c in cells)
    text = (
        f"Safe with any routing ({routings}): no session was lost in {checked:,} authenticated requests"
        + (", even when a node was killed mid-run" if killed else "")
        + f". Why: {STORE_NOTES.get(store, store)}."
        + _latency_text(cells)
    )
    if errors:
        text += f" {errors:,} request(s) failed outright (5xx or connection errors), typically in flight at the crash."
    return text


def _memory_verdict(cells: Sequence[Cell]) -> str:
    parts = [f"Loses sessions unless each session's requests reach the node that created it ({STORE_NOTES['memory']})."]
    for routing in dict.fromkeys(c["routing"] for c in cells):
        parts.append(_routing_sentence(routing, [c for c in cells if c["routing"] == routing]))
    parts.append(
        "Bottom line: memory sessions need affinity, i.e. hash routing (pins every client by its session id), route "
        "routing (by the node id each node tags its references with) or "
        "sticky routing for clients that keep cookies, and even then a node failure logs out that node's users."
    )
    parts.append(_latency_text(cells).strip())
    return " ".join(p for p in parts if p)


def _routing_sentence(routing: str, cells: Sequence[Cell]) -> str:
    steady = [c for c in cells if not c.get("killed_node")]
    base = steady[0] if steady else cells[0]
    kinds = {k: v for k, v in base.get("by_kind", {}).items() if v.get("session_requests")}
    sentence = f"With {routing} routing {pct(base['miss_rate'])} of authenticated requests missed"
    if len(kinds) > 1:
        sentence += " (" + ", ".join(f"{KIND_NAMES.get(k, k)} {pct(v['miss_rate'])}" for k, v in kinds.items()) + ")"
    sentence += f", forcing {base['relogins']:,} re-logins."
    if routing == "sticky" and kinds.get("app", {}).get("miss_rate", 0) > 0.05:
        sentence += " Sticky routing pins clients by a cookie, so clients that keep no cookies are not pinned."
    if routing == "hash":
        users = sum(k.get("users", 0) for k in kinds.values()) or 1
        sentence += f" Hashing pins every client by session id, after ~{base['misses'] / users:.1f} misses per user."
    for cell in cells:
        if cell.get("killed_node"):
            after = ", ".join(f"{n:,} for {KIND_NAMES.get(k, k)}" for k, n in _misses_after_kill(cell).items() if n)
            sentence += f" Killing {cell['killed_node']} mid-run was followed by misses: {after or 'none'}."
    return sentence


def _misses_after_kill(cell: Cell) -> dict[str, int]:
    """Misses per user kind in the seconds from the kill on."""
    kill = cell.get("kill_at_s") or 0.0
    after: dict[str, int] = {}
    for row in cell.get("timeline", []):
        if row["t"] + 1 > kill:
            for kind, (_, missed) in row.get("by_kind", {}).items():
                after[kind] = after.get(kind, 0) + missed
    return after


def warning_lines(cells: Sequence[Cell]) -> list[str]:
    """One line per cell that disagrees with theory (or did not run), naming each measure that disagreed."""
    lines = []
    for cell in disagreements(cells):
        if "miss_rate" not in cell:
            lines.append(f"{cell_name(cell)}: did not run ({cell.get('failure', 'unknown reason')})")
            continue
        parts, off = [], off_theory_measures(cell)
        if "miss_rate" in off:
            parts.append(f"measured miss rate {pct(cell['miss_rate'])}, theory {pct(cell['expected_miss_rate'])} "
                         f"± {pct(cell['tolerance'])} ({cell['misses']} misses, {cell['expected_misses']:g} "
                         "expected)")  # fmt: skip
        if "errors" in off:
            parts.append(f"{cell.get('errors', 0):,} failed requests, theory {cell.get('expected_errors')}, at most "
                         f"{error_ceiling(cell):,} allowed")  # fmt: skip
        if "store_latency" in off:
            parts.append("the p50 a request gained over the 0 ms cell is not its round trips x the store's RTT (see "
                         "The shared store table)")  # fmt: skip
        if "lost_update_rate" in off:
            parts.append(f"{cell['increments_lost']:,} of {cell['increments_acked']:,} acknowledged increments lost; "
                         f"theory: exactly {cell['lost_update_expected']} with {cell['consistency']}")  # fmt: skip
        lines.append(f"{cell_name(cell)}: " + "; ".join(parts))
    return lines


def load_warnings(cells: Sequence[Cell]) -> list[str]:
    """Cells whose load did not come from as many locust workers as asked for, or whose generator fell behind."""
    return fidelity_report.generator_warnings(ran(cells)) + [
        f"{cell_name(c)}: {c.get('load_processes', 0)} locust process(es) sent requests, "
        f"{c['workers_requested']} workers were asked for ({c.get('workers', 0)} connected)"
        for c in ran(cells)
        if c.get("workers_requested") and c.get("load_processes") != c["workers_requested"]
    ]


# -- lost updates and logout-all ------------------------------------------------------------------------


def lost_update_lines(cells: Sequence[Cell]) -> list[str]:
    """One line per concurrent cell: what was acknowledged, what was lost, what theory says."""
    lines = []
    for cell in (c for c in ran(cells) if "lost_update_rate" in c):
        expected = "theory: exactly 0" if cell.get("lost_update_expected") == 0 else "reported, not predicted"
        lines.append(
            f"{cell_name(cell)}: {lost_text(cell)} of acknowledged increments lost in {cell['bursts']:,} bursts "
            f"({cell['conflicts_409']:,} answered 409, {cell['bursts_unverified']:,} bursts not verifiable); "
            f"{expected}. Why: {cell['lost_update_theory']}."
        )
    return lines


LOST_UPDATE_INTRO = (
    "Each concurrent user fires bursts of parallel POST /counter on one session, then reads the counter back. "
    "An increment answered 200 that the stored counter does not show is a lost update; the rate is lost / "
    "acknowledged. 409s are refusals the client was told about, counted apart."
)


def revocation_lines(cells: Sequence[Cell]) -> list[str]:
    """Per store: how long the other client's session stayed usable after /logout-all, and why."""
    lines = []
    for store in dict.fromkeys(c["store"] for c in ran(cells)):
        outcomes: dict[str, list[Cell]] = {}  # routings with the same outcome share one line
        for cell in (c for c in ran(cells) if c["store"] == store and c.get("revocation")):
            outcomes.setdefault(revoked_text(cell), []).append(cell)
        for text, same in outcomes.items():
            routings = ", ".join(c["routing"] for c in same)
            explanations = [c["revocation"]["explanation"] for c in same]
            example = "" if len(set(explanations)) == 1 else "e.g. "
            lines.append(f"{store} ({routings} routing): {text} — {example}{explanations[0]}.")
    return lines


REVOCATION_INTRO = (
    "Two clients log in as the same user, one calls POST /logout-all, and the other polls GET /me through the "
    "balancer: revoked once it is refused 20 times in a row, still usable if it keeps being served. "
    "**Encrypted-cookie sessions cannot be revoked before they expire**: the client holds the whole session, so "
    "logout-all ends only the calling client's copy, and any other copy keeps working until it has gone unused "
    "for SESSION_MAX_AGE (each use re-issues it). Redis sessions end everywhere at once; memory sessions only on "
    "the node that served the logout-all."
)


def _load_text(meta: dict[str, Any], cells: Sequence[Cell]) -> str:
    """Who produced the load, as measured: the locust processes whose requests arrived in each cell."""
    workers = meta.get("workers") or 0
    if not workers:
        return "one locust process"
    seen = sorted({c.get("load_processes", 0) for c in ran(cells)})
    counted = " or ".join(str(n) for n in seen) if seen else "?"
    return f"locust master + {workers} workers ({counted} worker processes sent requests in each cell)"


def _users_text(meta: dict[str, Any], cells: Sequence[Cell]) -> str:
    kinds = ", ".join(meta.get("user_kinds", []))
    scenarios = {c.get("scenario") for c in cells}
    if "concurrent" not in scenarios:
        return kinds
    if scenarios == {"concurrent"}:
        return "concurrent users: bursts of parallel increments"
    return f"{kinds}; in concurrent cells, users firing bursts of parallel increments"


def setup_text(meta: dict[str, Any], cells: Sequence[Cell] = ()) -> str:
    load = _load_text(meta, cells)
    return (
        f"{meta.get('cells', '?')} cells, {meta.get('nodes', '?')} nodes per fresh cluster, "
        f"{meta.get('users', '?')} users ({_users_text(meta, cells)}) for {meta.get('duration', '?')} s "
        f"per cell, load from {load}; started {meta.get('started', '?')}"
        + (f", {meta['wall_s']:.0f} s wall" if meta.get("wall_s") else "")
        + "."
    )


def reading_guide() -> list[str]:
    return [
        "- **miss rate** = session misses / authenticated requests answered 200 or 401. A miss is an answer "
        "proving the serving node did not see the user's session: a 401, another user's session, or a counter "
        "or cart that went back. After a miss the user logs in again (re-logins).",
        "- **theory** is the miss rate the model in `loadtest/compare/theory/` expects from this run's own exposure "
        "(users, session requests before and after the kill), with a tolerance of 3 standard deviations plus a "
        "small floor. Cells outside it are flagged: the lab or a service does not behave as we think it does.",
        "- **errors** are real failures (5xx, connection errors), counted apart from misses; latency percentiles "
        "cover HTTP requests only, never the miss events.",
        "- **browser** users keep cookies (session cookie and the balancer's SL_ROUTE affinity); **app** users "
        "have no cookie jar and send their session in the X-Session-Token header.",
        "- **node-failure**: one node is SIGKILLed at the run's midpoint; the balancer's health check ejects it.",
        "- **concurrent** cells run only users that fire bursts of parallel increments on one session, with the "
        "nodes in one SESSION_CONSISTENCY mode. **lost updates** = acknowledged increments missing from the counter "
        "read back / acknowledged increments: with cas theory says exactly 0 and any loss is flagged; with "
        "last_write_wins (the cookie store's only mode) the loss is reported, not predicted.",
        "- **usable after logout-all**: how long another client's session of the same user still worked after "
        'POST /logout-all (polled through the balancer once per store and routing, after the load); "≥ N s" means '
        'it was still served when polling stopped, "until expiry" that a cookie session cannot be revoked.',
    ]

"""The report's lines on the session's own life (issue 23): size, idle gaps, save and touch, a full store, a
mixed-version deploy, revocation per node; each measured figure beside what theory said, from results.json only."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from loadtest.compare.report.table import Cell, ran
from loadtest.compare.theory.session_life import COOKIE_LIMIT_TEXT

INTRO = ("What the session itself does, per cell: its size on the wire and in the store, sessions lost to an idle gap "
         "or a full store, users moved by a lapsed affinity cookie, store writes per request, re-logins forced by a "
         "schema change and how fast a logout reaches every node. Each figure is followed by its theory, or says it "
         "is not modelled.")  # fmt: skip
COOKIE_LINE = f"cookie: not possible above {COOKIE_LIMIT_TEXT} (a larger session is refused with 413, never dropped)"


def _label(cell: Cell) -> str:
    knobs = [f"{cell['session_kb']:g} KB" if cell.get("session_kb") else "",
             f"gap {cell['idle_gap_s']:g} s" if cell.get("idle_gap_s") else "",
             cell.get("redis_eviction") or "", cell.get("schema_compat") or ""]  # fmt: skip
    extra = ", ".join(word for word in knobs if word)
    return f"{cell['store']} / {cell['routing']} / {cell['scenario']}" + (f" ({extra})" if extra else "")


def _theory(cell: Cell, measure: str) -> str:
    text = (cell.get("session_theory") or {}).get(measure)
    verdict = cell.get(f"{measure}_agrees")
    mark = {True: "agrees", False: "DISAGREES", None: ""}[verdict]
    return f" [{mark}: {text}]" if text and mark else f" [{text}]" if text else ""


def _figure(value: Any, unit: str = "") -> str:
    if value is None:
        return "not measured"
    return f"{value:,.3g}{unit}" if isinstance(value, float) and abs(value) < 10 else f"{value:,.0f}{unit}"


def cell_line(cell: Cell) -> str:
    """One cell: the figures its knobs make interesting, each with its theory."""
    parts = [f"{_figure(cell.get('wire_bytes_per_request'), ' B')} on the wire per request",
             f"{_figure(cell.get('store_bytes_per_session'), ' B')} per session in the store",
             f"{_figure(cell.get('store_writes_per_request'))} store writes per request"
             + _theory(cell, "store_writes_per_request")]  # fmt: skip
    if cell.get("cluster_cpu_ms_per_request") is not None:
        cpu, p99 = cell["cluster_cpu_ms_per_request"], cell.get("p99_ms")
        parts.append(f"{cpu:.2f} ms cluster CPU per request, p99 {_figure(p99, ' ms')}")
    if cell.get("refused_413"):
        parts.append(f"{cell['refused_413']:,} answers 413 (too large for a cookie)" + _theory(cell, "session_kb"))
    if cell.get("idle_gaps"):
        parts.append(f"{cell['idle_gaps']:,} idle gaps: {cell.get('expired_after_idle', 0):,} sessions gone after one"
                     + _theory(cell, "expired_after_idle") + f", {cell.get('moved_after_idle', 0):,} users moved"
                     + _theory(cell, "moved_after_idle"))  # fmt: skip
    if cell.get("idle_gaps") or cell.get("expired_while_active_agrees") is not None:
        active = cell.get("expired_while_active")
        parts.append(f"{_figure(active)} expired while active" + _theory(cell, "expired_while_active"))
    if cell.get("redis_eviction"):
        parts.append(f"{_figure(cell.get('evicted_sessions'))} sessions evicted" + _theory(cell, "evicted_sessions")
                     + f", {cell.get('logins_refused', 0):,} logins refused with 503" + _theory(cell, "logins_refused")
                     + f", {cell.get('filler_sessions_lost', 0):,} of {cell.get('filler_sessions_checked', 0):,} idle "
                     f"users' sessions gone, {_figure(cell.get('redis_bytes_per_session'), ' B')} of Redis memory "
                     "per session")  # fmt: skip
    if cell.get("schema_compat"):
        parts.append(f"{_figure(cell.get('forced_relogins'))} forced re-logins" + _theory(cell, "forced_relogins")
                     + f"; rolled back, a v1 node could not read {cell.get('schema_unreadable', 0)} of "
                     f"{cell.get('schema_probed', 0)} v2 sessions" + _theory(cell, "schema_unreadable"))  # fmt: skip
    server_errors = int(cell.get("http_500") or 0) + int(cell.get("rollback_500s") or 0)
    parts.append(f"{server_errors} 500s" + (" (must be 0)" if server_errors else ""))
    return f"{_label(cell)}: " + "; ".join(parts) + "."


def revocation_lines(cells: Sequence[Cell]) -> list[str]:
    """Per store: the slowest node's first refusal of a logged-out session, probed on every node directly."""
    lines = []
    for cell in ran(cells):
        by_node: Mapping[str, float | None] = cell.get("revocation_ms_by_node") or {}
        if not by_node:
            continue
        still = [node for node, ms in by_node.items() if ms is None]
        bound = cell.get("revocation_bound_s", 0)
        when = (f"refused by every node within {cell['revocation_ms']:g} ms" if not still else
                f"still served by {', '.join(still)} {bound:g} s after /logout")  # fmt: skip
        lines.append(f"{cell['store']} ({cell['routing']}): after /logout {when}" + _theory(cell, "revocation_ms"))
    return lines


def lines(cells: Sequence[Cell]) -> list[str]:
    """The section's lines: the cookie's limit when a cell met it, one line per cell that ran a session knob or a
    session scenario, then revocation per store."""
    mine = [cell for cell in ran(cells) if _session_cell(cell)]
    found = [COOKIE_LINE] if any(c["store"] == "cookie" and c.get("refused_413") for c in ran(cells)) else []
    return found + [cell_line(cell) for cell in mine] + revocation_lines(cells)


def _session_cell(cell: Cell) -> bool:
    return bool(cell.get("session_kb") or cell.get("idle_gaps") or cell.get("redis_eviction")
                or cell.get("schema_compat") or cell.get("session_save") == "always"
                or cell.get("scenario") in ("store-full", "mixed-version"))  # fmt: skip


def section(cells: Sequence[Cell]) -> dict[str, Any]:
    return {"intro": INTRO, "lines": lines(cells)}

"""The comparison table of a compare report: how each value of a cell is shown, and which columns appear.

Columns come from one list (COLUMNS); optional ones appear only when some cell has the value (lost updates
from concurrent cells, time usable after logout-all from the cells that measured it).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from loadtest.compare.scenarios import SCENARIOS
from loadtest.compare.spec import posture_label
from loadtest.render.format import count as num
from loadtest.render.format import ms, pct

Cell = dict[str, Any]
STORE_NOTES = {
    "memory": "sessions live in the memory of the node that created them",
    "cookie": "the whole session travels, encrypted, in the client's cookie or token (4 KB at most, "
    "cannot be revoked before it expires)",
    "redis": "every node reads and writes sessions in one shared Redis, itself a dependency: restarted without "
    "persistence it comes back empty (every session lost), and a primary that dies takes its unreplicated writes "
    "unless each write waits for a replica (the store-failure and store-failover cells measure both)",
    "replicated": "each node holds copies in memory and copies every write to its peers (Tomcat-style: all "
    "nodes, or a primary and one backup; sync or async)",
}


KIND_NAMES = {"browser": "browser users", "app": "app users without cookies"}


def cell_name(cell: Cell) -> str:
    """store / routing / scenario, plus the consistency mode for concurrent cells (two cells differ only by it)."""
    mode = f" / {cell['consistency']}" if "lost_update_rate" in cell else ""
    return f"{store_text(cell)} / {cell['routing']} / {cell['scenario']}{mode}"


def store_text(cell: Mapping[str, Any]) -> str:
    """The store in the posture it ran (`replicated all-sync`, `redis (AOF)`, `redis (Sentinel)`): two cells of one
    store in different set-ups are two choices, never one row."""
    scenario = SCENARIOS.get(str(cell.get("scenario")))
    setup = scenario.store_setup if scenario is not None else None
    return posture_label(str(cell["store"]), cell.get("replication"), cell.get("redis_persistence"), setup)


def lost_text(cell: Cell) -> str:
    if cell.get("lost_update_rate") is None:
        return "-"
    counts = f" ({cell['increments_lost']:,}/{cell['increments_acked']:,})" if "increments_acked" in cell else ""
    stale = cell.get("increments_stale") or 0
    return pct(cell["lost_update_rate"]) + counts + (f", {stale:,} read back stale then found" if stale else "")


def sessions_lost_text(cell: Mapping[str, Any]) -> str:
    """Sessions acknowledged before a store fault and gone after it, of those checked: "300 of 300"; "-" if none."""
    lost, checked = cell.get("sessions_lost"), cell.get("sessions_checked")
    return "-" if lost is None else f"{lost:,}" + ("" if checked is None else f" of {checked:,}")


def by_status(cell: Mapping[str, Any]) -> str:
    """Failed requests per HTTP status ("connection" when nothing answered): "503: 443"; "" when none failed."""
    return ", ".join(f"{status}: {n:,}" for status, n in (cell.get("errors_by_status") or {}).items())


def error_ceiling(cell: Mapping[str, Any]) -> int:
    """The most failed requests theory allows a cell: those it expects plus its allowance (drained changes)."""
    return (cell.get("expected_errors") or 0) + (cell.get("errors_allowed") or 0)


def revoked_text(cell: Cell) -> str:
    """How long the other session stayed usable after logout-all, in words a table can hold."""
    details = cell.get("revocation") or {}
    until, usable = details.get("until"), cell.get("revoked_usable_s")
    if until == "expiry":
        return f"until expiry ({details.get('max_age_s', usable)} s idle)"
    if until == "bound":
        return f"≥ {usable:g} s (not revoked)"
    if until == "revoked":
        return f"{usable:g} s"
    return "unclear" if until else "-"


@dataclass(frozen=True)
class Column:
    """One column of the comparison table: the header, how to show a cell's value, shown only if present?"""

    header: str
    show: Callable[[Cell], str]
    optional_key: str | None = None
    when_varies: bool = False  # shown only when the cells differ in it (the node count of a --nodes sweep)
    on_console: bool = True  # False: too wide for the console summary; the report's tables show it


def _kind_rate(kind: str) -> Callable[[Cell], str]:
    def show(cell: Cell) -> str:
        part = cell.get("by_kind", {}).get(kind, {})
        return pct(part["miss_rate"]) if part.get("session_requests") else "-"

    return show


COLUMNS: list[Column] = [
    Column("balancer", lambda c: str(c.get("balancer", "sessionlab")), when_varies=True),
    Column("store", store_text),
    Column("nodes", lambda c: str(c.get("nodes", "-")), when_varies=True),
    Column("routing", lambda c: c["routing"]),
    Column("scenario", lambda c: c["scenario"]),
    Column("requests", lambda c: num(c.get("requests"))),
    Column("rps", lambda c: num(c.get("rps"))),
    Column("p50 ms", lambda c: ms(c.get("p50_ms"))),
    Column("p95 ms", lambda c: ms(c.get("p95_ms"))),
    Column("p99 ms", lambda c: ms(c.get("p99_ms"))),
    Column("miss rate", lambda c: pct(c.get("miss_rate"))),
    Column("theory", lambda c: f"{pct(c.get('expected_miss_rate'))} ± {pct(c.get('tolerance'))}"),
    Column("verdict", lambda c: c.get("verdict", "-")),
    Column("browser miss", _kind_rate("browser"), on_console=False),
    Column("app miss", _kind_rate("app"), on_console=False),
    Column("re-logins", lambda c: num(c.get("relogins"))),
    Column("errors", lambda c: num(c.get("errors"))),
    Column(
        "node share",
        lambda c: " / ".join(f"{100 * v:.0f}" for v in c.get("node_share", {}).values()) or "-",
        on_console=False,
    ),
    Column(
        "killed",
        lambda c: f"{c['killed_node']} at {c['kill_at_s']:.1f}s" if c.get("killed_node") else "-",
        on_console=False,
    ),
    # the concurrent scenario and the logout-all measurement: shown as soon as a cell carries them
    Column("consistency", lambda c: c["consistency"] if "lost_update_rate" in c else "-", "lost_update_rate"),
    Column("lost updates", lost_text, optional_key="lost_update_rate"),
    Column("409s", lambda c: num(c.get("conflicts_409")), optional_key="lost_update_rate"),
    Column("usable after logout-all", revoked_text, optional_key="revoked_usable_s"),
]


def columns_for(cells: Sequence[Cell]) -> list[Column]:
    return [c for c in COLUMNS if _shown(c, cells)]


def _shown(column: Column, cells: Sequence[Cell]) -> bool:
    if column.when_varies:
        return len({column.show(cell) for cell in cells}) > 1
    return column.optional_key is None or any(column.optional_key in cell for cell in cells)


def ran(cells: Sequence[Cell]) -> list[Cell]:
    return [c for c in cells if "miss_rate" in c]


UNJUDGED = ("not modelled", "not offered", "skipped")  # verdicts that are no disagreement: nothing to judge by


def disagreements(cells: Sequence[Cell]) -> list[Cell]:
    return [c for c in cells if c.get("verdict") not in ("ok", *UNJUDGED)]


def table_rows(cells: Sequence[Cell], *, console: bool = False) -> tuple[list[str], list[list[str]]]:
    """Headers and rows of the cells that ran; `console`: only the columns that fit a terminal."""
    columns = [c for c in columns_for(ran(cells)) if c.on_console or not console]
    return [c.header for c in columns], [[c.show(cell) for c in columns] for cell in ran(cells)]

"""The report's details: the full comparison as several narrow tables, one per question, each fitting 1,280 px.

Every table starts with the cell's name and shows one group of columns (traffic, misses vs theory, errors,
consistency, revocation, events). A group whose columns no cell carries is left out, so a run without
concurrent cells has no consistency table.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from loadtest.compare.report.table import (
    by_status,
    cell_name,
    error_ceiling,
    lost_text,
    ran,
    revoked_text,
    sessions_lost_text,
)
from loadtest.render.format import count as num
from loadtest.render.format import ms, pct

Cell = dict[str, Any]
Show = Callable[[Cell], str]


@dataclass(frozen=True)
class Group:
    """One table: its title, what it answers, its columns, and the key a cell must carry to appear in it."""

    title: str
    question: str
    columns: Sequence[tuple[str, Show]]
    needs: tuple[str, ...] = ()  # a cell appears when it carries one of these keys; () = every measured cell


@dataclass(frozen=True)
class Table:
    title: str
    question: str
    headers: list[str]
    rows: list[list[str]]
    flagged: list[bool]  # the row's cell disagrees with theory


def kind_rate(kind: str) -> Show:
    def show(cell: Cell) -> str:
        part = cell.get("by_kind", {}).get(kind, {})
        return pct(part["miss_rate"]) if part.get("session_requests") else "-"

    return show


def shares(cell: Cell) -> str:
    return " / ".join(f"{100 * v:.0f}" for v in cell.get("node_share", {}).values()) or "-"


def ejected(cell: Cell) -> str:
    at, kill = cell.get("ejected_at_s"), cell.get("kill_at_s")
    return "-" if at is None or kill is None else f"{at - kill:.1f} s after the kill"


def events(cell: Cell) -> str:
    """Each scenario event as "what at t s: outcome"."""
    shown = [f"{e.get('what', '?')} at {e.get('t', 0):.1f} s" + (f": {e['outcome']}" if e.get("outcome") else "")
             for e in cell.get("events", [])]  # fmt: skip
    if not shown and cell.get("killed_node"):  # results from before the scenario events
        shown = [f"SIGKILL {cell['killed_node']} at {cell.get('kill_at_s') or 0:.1f} s"]
    return "; ".join(shown) or "-"


def seconds(key: str) -> Show:
    return lambda cell: "-" if cell.get(key) is None else f"{cell[key]:.2f}"


def store_distance(cell: Cell) -> str:
    """The measured RTT to the store and how the delay was made (netem, or the lab's TCP relay)."""
    rtt, method = cell.get("store_rtt_ms"), cell.get("store_delay_method")
    if rtt is None and not cell.get("store_latency_ms"):
        return "-"
    return f"{ms(rtt)} ms" + (f" ({method})" if method else "")


def latency_added(cell: Cell) -> str:
    """Each request's p50 added over the 0 ms cell, against round trips x RTT: "GET /me +2.1 (2.0)"."""
    checks = cell.get("store_latency_check") or {}
    shown = [f"{name} +{c['p50_added_ms']:g} ({c['expected_ms']:g})" + ("" if c["agrees"] else " DISAGREES")
             for name, c in checks.items()]  # fmt: skip
    return "; ".join(shown) or "-"


def theory(cell: Cell) -> str:
    return f"{pct(cell.get('expected_miss_rate'))} ± {pct(cell.get('tolerance'))}"


def errors_by_status(cell: Cell) -> str:
    return by_status(cell) or "-"


def error_theory(cell: Cell) -> str:
    """The failed requests theory expects and the most it allows: "0 (≤ 2 allowed)"; "-" where timing decides."""
    expected = cell.get("expected_errors")
    if expected is None:
        return "-"
    return f"{expected:,} (≤ {error_ceiling(cell):,} allowed)"


def count(key: str) -> Show:
    return lambda cell: num(cell.get(key))


def upgrades(cell: Cell) -> str:
    """The polling-then-upgrade handshake after the load: "20 of 20 upgraded", or with "Session ID unknown"s."""
    tried = cell.get("handshake_attempts")
    if not tried:
        return "-"
    unknown = cell.get("handshake_sid_unknown") or 0
    return f"{cell.get('handshake_upgraded', 0)} of {tried} upgraded" + (f", {unknown} sid unknown" if unknown else "")


def closes(cell: Cell) -> str:
    """WebSocket closes by code: "1001 ×12, 4401 ×3"."""
    return ", ".join(f"{code} ×{n}" for code, n in sorted(cell.get("ws_closes", {}).items())) or "-"


def final_skew(cell: Cell) -> str:
    """Open WebSockets per node in the last full second of the run: "node-1 4 / node-2 3 / node-4 0"."""
    rows = [row for row in cell.get("open_connections", []) if row.get("nodes")]
    if not rows:
        return "-"
    last = rows[-2] if len(rows) > 1 else rows[-1]  # the very last second is cut short by the end of the load
    return " / ".join(f"{node} {n}" for node, n in sorted(last["nodes"].items()))


def storm(cell: Cell) -> str:
    """A killed node's reconnect storm: "12/s peak, 30 in 2.0 s; others' p99 45 ms (12 before)"."""
    if cell.get("storm_reconnects") is None:
        return "-"
    return (f"{num(cell.get('storm_peak_reconnects_per_s'))}/s peak, {num(cell.get('storm_reconnects'))} in "
            f"{cell.get('storm_window_s', 0):.1f} s; others' p99 {ms(cell.get('storm_others_p99_ms'))} ms "
            f"({ms(cell.get('others_p99_before_kill_ms'))} before)")  # fmt: skip


def new_node_share(cell: Cell) -> str:
    """A scale-out's skew at the end: "node-4 3% (fair 25%, rebalance 50%)"."""
    if cell.get("new_node_share_end") is None:
        return "-"
    rebalance = f", rebalance {pct(cell.get('rebalance'))}" if cell.get("rebalance") else ", no rebalance"
    return f"{cell.get('new_node')} {pct(cell['new_node_share_end'])} (fair {pct(cell.get('fair_share'))}{rebalance})"


GROUPS = (
    Group("Traffic", "How much load each cell carried, and how fast it was answered (HTTP requests only).",
          [("requests", lambda c: num(c.get("requests"))), ("rps", lambda c: num(c.get("rps"))),
           ("p50 ms", lambda c: ms(c.get("p50_ms"))), ("p95 ms", lambda c: ms(c.get("p95_ms"))),
           ("p99 ms", lambda c: ms(c.get("p99_ms"))), ("node share %", shares)]),
    Group("Misses vs theory", "How often a node did not find the user's session, against what theory expects.",
          [("miss rate", lambda c: pct(c.get("miss_rate"))), ("theory", theory),
           ("verdict", lambda c: str(c.get("verdict", "-"))), ("browser miss", kind_rate("browser")),
           ("app miss", kind_rate("app")), ("re-logins", lambda c: num(c.get("relogins")))]),
    Group("Errors", "Requests that failed outright (5xx, connection errors), counted apart from misses.",
          [("errors", lambda c: num(c.get("errors"))), ("error rate", lambda c: pct(c.get("error_rate"))),
           ("by status", errors_by_status), ("theory", error_theory)]),
    Group("Consistency", "Parallel writes to one session: acknowledged increments that vanished.",
          [("consistency", lambda c: str(c["consistency"])), ("lost updates", lost_text),
           ("409s", lambda c: num(c.get("conflicts_409")))], needs=("lost_update_rate",)),
    Group("The shared store", "What the store's faults and distance cost: seconds of failed store answers, sessions "
          "acknowledged before a fault and missing after it, and the p50 a request gained per its round trips.",
          [("outage s", seconds("outage_s")), ("healed after its return s", seconds("healed_after_s")),
           ("sessions lost", sessions_lost_text), ("store RTT", store_distance),
           ("p50 added ms (expected)", latency_added)],
          needs=("outage_s", "sessions_lost", "store_rtt_ms", "store_latency_check")),
    Group("Long-lived connections", "WebSockets through the balancer (--long-lived): failed connects, reconnects and "
          "how long they took (close to the next hello, back-off included), sessions the upgrade did not find (4401), "
          "and messages lost or counted twice.",
          [("opened", count("ws_connects")), ("connect failures", count("ws_connect_failures")),
           ("reconnects", count("reconnects")), ("reconnect p50 ms", lambda c: ms(c.get("reconnect_p50_ms"))),
           ("reconnect p99 ms", lambda c: ms(c.get("reconnect_p99_ms"))), ("ws misses", count("ws_misses")),
           ("lost / duplicated", lambda c: f"{num(c.get('messages_lost'))} / {num(c.get('messages_duplicated'))}")],
          needs=("ws_connects",)),
    Group("Where the long-lived connections went", "How WebSockets and event streams ended (close codes), where the "
          "open ones were at the end, a killed node's reconnect storm (peak reconnects a second, and the other nodes' "
          "p99 while it lasted against theirs before), a scale-out's skew (the new node's share of open connections "
          "at the end) and socket.io's poll-then-upgrade handshake.",
          [("closes", closes), ("open at the end", final_skew), ("reconnect storm", storm),
           ("new node's share", new_node_share), ("poll then upgrade", upgrades)],
          needs=("ws_connects",)),
    Group("Revocation", "How long another client's session stayed usable after POST /logout-all.",
          [("usable after logout-all", revoked_text)], needs=("revoked_usable_s",)),
    Group("Events", "What happened to the cluster during the run.",
          [("events", events), ("ejected by the balancer", ejected)], needs=("events", "killed_node")),
)  # fmt: skip


def has(cell: Cell, keys: tuple[str, ...]) -> bool:
    return not keys or any(cell.get(key) not in (None, [], {}) for key in keys)


def build_table(group: Group, cells: Sequence[Cell]) -> Table:
    mine = [c for c in ran(cells) if has(c, group.needs)]
    values = [[show(c) for _, show in group.columns] for c in mine]
    kept = [i for i in range(len(group.columns)) if any(row[i] != "-" for row in values)]  # no all-"-" column
    if not kept:
        return Table(group.title, group.question, [], [], [])
    headers = ["cell", *(group.columns[i][0] for i in kept)]
    rows = [[cell_name(c), *(row[i] for i in kept)] for c, row in zip(mine, values, strict=True)]
    return Table(group.title, group.question, headers, rows, [not c.get("agrees_with_theory") for c in mine])


def build_tables(cells: Sequence[Cell]) -> list[Table]:
    """Every group that has a cell to show, in the order above."""
    tables = [build_table(group, cells) for group in GROUPS]
    return [table for table in tables if table.rows]

"""The report's "What replication costs" section: latency and replication traffic per write against node count.

Latency comes from the steady cells when there are any (a kill's 502s and redispatches would blur the cost), else
from every cell; each store (each replication mode of the replicated store) and routing is one row, each node
count a column. Traffic is the replicated cells' messages and body bytes per write, summed over the nodes' own
counters, next to what Tomcat's DeltaManager sends (every change to every other member: N-1 messages).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from loadtest.compare.report.table import Cell, ran
from loadtest.compare.report.table import store_text as store_label
from loadtest.render.format import ms
from nodes.contract.names import COOKIE, MEMORY, REDIS

ORDER = ("replicated all-sync", "replicated all-async", "replicated backup-sync", "replicated backup-async",
         REDIS, MEMORY, COOKIE)  # fmt: skip
INTRO = (
    "What replication costs: write-path latency and replication traffic against the number of nodes. `all` copies "
    "every write to every other node (Tomcat's DeltaManager: N-1 messages per write, so the traffic grows with N "
    "for every write); `backup` keeps one copy on one other node (BackupManager: at most a forward to the primary "
    "and one copy, whatever N); `sync` waits for the copies, `async` answers first. redis pays one round trip to "
    "a shared server per request; memory copies nothing."
)


def cost_cells(cells: Sequence[Cell]) -> list[Cell]:
    """The cells the section reads: the steady ones if any ran, else every cell that ran."""
    done = ran(cells)
    steady = [c for c in done if c.get("scenario") == "steady"]
    return steady or done


def node_counts(cells: Sequence[Cell]) -> list[int]:
    return sorted({int(c["nodes"]) for c in cells})


def series(cells: Sequence[Cell]) -> list[tuple[str, str]]:
    """(store label, routing) pairs in the report's order."""
    pairs = dict.fromkeys((store_label(c), str(c["routing"])) for c in cells)
    return sorted(pairs, key=lambda pair: (ORDER.index(pair[0]) if pair[0] in ORDER else len(ORDER), pair))


def pick(cells: Sequence[Cell], label: str, routing: str, nodes: int) -> Cell | None:
    return next((c for c in cells if store_label(c) == label and c["routing"] == routing and c["nodes"] == nodes), None)


def latency_table(cells: Sequence[Cell]) -> tuple[list[str], list[list[str]]]:
    """Rows: store / routing; columns: `p50 / p99 ms` per node count."""
    counts = node_counts(cells)
    headers = ["store", "routing", *[f"{n} nodes: p50 / p99 ms" for n in counts]]
    rows = []
    for label, routing in series(cells):
        found = [pick(cells, label, routing, n) for n in counts]
        rows.append([label, routing, *[f"{ms(c.get('p50_ms'))} / {ms(c.get('p99_ms'))}" if c else "-" for c in found]])
    return headers, rows


def traffic_table(cells: Sequence[Cell]) -> tuple[list[str], list[list[str]]]:
    """Rows: each replication mode and routing, then Tomcat's all-to-all; columns: messages (bytes) per write."""
    counts = node_counts(cells)
    headers = ["replication", "routing", *[f"{n} nodes: messages (body bytes) / write" for n in counts]]
    rows = []
    for label, routing in series([c for c in cells if c.get("replication_traffic")]):
        found = [pick(cells, label, routing, n) for n in counts]
        rows.append([label, routing, *[_traffic(c) for c in found]])
    if rows:
        rows.append(["Tomcat DeltaManager (all-to-all)", "any", *[f"{n - 1}" for n in counts]])
    return headers, rows


def _traffic(cell: Cell | None) -> str:
    traffic = (cell or {}).get("replication_traffic") or {}
    messages, size = traffic.get("messages_per_write"), traffic.get("bytes_per_write")
    return "-" if messages is None else f"{messages:.2f} ({size:,.0f} B)"


def section(cells: Sequence[Cell]) -> dict[str, Any] | None:
    """The section's model, or None when no replicated cell ran."""
    chosen = cost_cells(cells)
    if not any(c.get("replication") for c in chosen):
        return None
    latency_headers, latency_rows = latency_table(chosen)
    traffic_headers, traffic_rows = traffic_table(chosen)
    steady = all(c.get("scenario") == "steady" for c in chosen)
    source = "Measured on the steady cells." if steady else "Measured on every cell (no steady cell ran)."
    return {"intro": INTRO, "source": source, "latency": {"headers": latency_headers, "rows": latency_rows},
            "traffic": {"headers": traffic_headers, "rows": traffic_rows}}  # fmt: skip

"""A cell's long-lived measures (`--long-lived`): what the WebSocket users counted (loadtest/users/longlived.py),
beside the request measures. Reconnect time runs from a close to the new connection's hello, back-off included.
Pure functions, no locust import.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from loadtest.compare.record.live_events import rows_of, skew_fields, storm_fields
from loadtest.compare.record.model import Verdict
from loadtest.compare.spec import CellSpec
from loadtest.users import tally as T
from nodes.contract.names import COOKIE, HASH, REDIS, ROUTE, STICKY


def long_lived_fields(
    per_second: Mapping[str, Mapping[str, int]],
    start: float,
    events: Sequence[Mapping[str, Any]] = (),
    spec: CellSpec | None = None,
) -> dict[str, Any]:
    """The measures every long-lived cell records, the open connections per node second by second, and what the
    cell's events did to them (a kill's reconnect storm, a scale-out's skew)."""
    totals = T.sum_counts(per_second.values())
    reconnect = T.labels(totals, T.RECONNECT_TIME)
    rows = rows_of(per_second, start)
    setup = {} if spec is None else {"long_lived_share": spec.long_lived, "long_lived_kind": spec.long_lived_kind}
    return setup | {
        "ws_connects": T.measure_total(totals, T.WS_CONNECTS),
        "ws_connect_failures": T.measure_total(totals, T.WS_CONNECT_FAILURES),
        "reconnects": T.measure_total(totals, T.RECONNECTS),
        "reconnect_p50_ms": T.percentile(reconnect, 0.5),
        "reconnect_p99_ms": T.percentile(reconnect, 0.99),
        "ws_misses": T.measure_total(totals, T.WS_MISSES),
        "messages_lost": T.measure_total(totals, T.MESSAGES_LOST),
        "messages_duplicated": T.measure_total(totals, T.MESSAGES_DUPLICATED),
        "ws_closes": T.labels(totals, T.WS_CLOSES),
        "ws_connects_by_kind": T.labels(totals, T.WS_CONNECTS),
        "open_connections": open_connections(per_second, start),
        **storm_fields(rows, events),
        **skew_fields(rows, events, spec.rebalance if spec is not None else 0.0),
    }


def open_connections(per_second: Mapping[str, Mapping[str, int]], start: float) -> list[dict[str, Any]]:
    """`{"t", "nodes": {node: open WebSockets}}` per second since the start: the connection skew over time."""
    rows = sorted(per_second.items(), key=lambda item: int(item[0]))
    return [{"t": round(int(second) - start, 3), "nodes": T.labels(counts, T.LIVE_OPEN)} for second, counts in rows]


# The theory of a long-lived cell. Reconnects miss as requests do: a store every node reads finds the session
# wherever the upgrade lands (unless the scenario hits the store itself). A transport id lives in one node's memory:
# only affinity brings the upgrade back to it, whatever the store (random: all 20 on the polling node, 2**-20 with
# two nodes; round robin alternates, so never).
SHARED_STORES = frozenset((COOKIE, REDIS))
AFFINITY = frozenset((STICKY, HASH, ROUTE))


def long_lived_verdicts(spec: CellSpec, figures: Mapping[str, Any], *, store_hit: bool) -> list[Verdict]:
    """The reconnect-miss and handshake verdicts (None where theory does not predict the figure)."""
    misses = figures.get("ws_misses")
    shared = spec.store in SHARED_STORES and not store_hit and misses is not None
    unknown = figures.get("handshake_sid_unknown")
    handshake = None if unknown is None else (unknown == 0) == (spec.routing in AFFINITY)
    return [Verdict("ws_miss_agrees_with_theory", "WebSocket misses", misses == 0 if shared else None),
            Verdict("handshake_agrees_with_theory", "poll-then-upgrade", handshake),
            Verdict("skew_agrees_with_theory", "connections on the new node", skew_agrees(spec, figures))]  # fmt: skip


def skew_agrees(spec: CellSpec, figures: Mapping[str, Any]) -> bool | None:
    """Without a rebalance no open connection moves: the new node never holds more connections than were opened
    after it joined (None where no node joined, or a rebalance closed some: how many come back is routing's)."""
    most, opened = figures.get("new_node_open_max"), figures.get("connections_opened_after_join")
    if most is None or opened is None or spec.rebalance:
        return None
    return bool(most <= opened)

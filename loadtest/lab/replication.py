"""The lab side of SESSION_STORE=replicated: node settings for a replication mode, and the nodes' counters.

A mode is `<scope>-<delivery>` (`all-sync`, `all-async`, `backup-sync`, `backup-async`): SESSION_REPLICATION and
SESSION_REPLICATION_MODE together, the way `sessionlab compare --replication` and the report name them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from loadtest.lab.probe import request
from nodes.contract.names import REPLICATION_MODES, REPLICATION_PREFIX, REPLICATION_SCOPES
from nodes.contract.peer_signature import sign

REPLICATIONS = tuple(f"{scope}-{delivery}" for scope in REPLICATION_SCOPES for delivery in REPLICATION_MODES)
DEFAULT_REPLICATION = REPLICATIONS[0]  # all-sync: Tomcat's DeltaManager with synchronous copies
STATS_PATH = REPLICATION_PREFIX + "stats"
SUMMED = ("writes", "messages_sent", "bytes_sent", "failed_sends", "forwarded", "fetches", "dropped")


def replication_env(mode: str, peers: Iterable[str], secret: str) -> dict[str, str]:
    """SESSION_* settings for every node of a replicated cluster (each gets the same peer list and secret)."""
    scope, _, delivery = mode.partition("-")
    if mode not in REPLICATIONS:
        raise ValueError(f"unknown replication {mode!r}: expected one of {', '.join(REPLICATIONS)}")
    return {"SESSION_PEERS": ",".join(peers), "SESSION_PEER_SECRET": secret,
            "SESSION_REPLICATION": scope, "SESSION_REPLICATION_MODE": delivery}  # fmt: skip


def node_stats(url: str, secret: str, timeout: float = 2.0) -> dict[str, Any] | None:
    """A node's GET /_replication/stats (signed as a peer's request), or None when it does not answer."""
    answer = request("GET", url + STATS_PATH, headers=sign(secret.encode(), "GET", STATS_PATH, b""), timeout=timeout)
    document = answer.json() if answer.status == 200 else None
    return document if isinstance(document, dict) else None


def cluster_traffic(answers: Iterable[dict[str, Any] | None]) -> dict[str, Any]:
    """Messages and body bytes per write over the whole cluster, and the async lag, from every node's stats.

    A forwarded write is counted as a write by the node that forwarded it, and its copies are sent by the
    primary, so the sums over all nodes divided by the writes are the cost of one write to the cluster."""
    seen = [answer for answer in answers if answer]
    totals = {name: sum(int(answer.get(name, 0)) for answer in seen) for name in SUMMED}
    writes = totals["writes"]
    return {
        **totals,
        "nodes_answered": len(seen),
        "messages_per_write": totals["messages_sent"] / writes if writes else None,
        "bytes_per_write": totals["bytes_sent"] / writes if writes else None,
        "lag_ms_typical": _mean([float(answer.get("lag_ms_last", 0.0)) for answer in seen]),
        "lag_ms_max": max((float(answer.get("lag_ms_max", 0.0)) for answer in seen), default=0.0),
    }


def _mean(values: list[float]) -> float:
    """The nodes' latest batch lags averaged: the typical lag (the max is one worst batch, often the first)."""
    return sum(values) / len(values) if values else 0.0

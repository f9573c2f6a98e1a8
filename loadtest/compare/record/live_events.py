"""What a cell's events did to its long-lived connections: a killed node's reconnect storm (its peak rate, and the
other nodes' p99 while it lasted, against theirs before the kill) and a scale-out's connection skew (the new node's
share of open connections, second by second). Pure functions over the tally's per-second counts, no locust import.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from loadtest.users import tally as T
from loadtest.users.live_judge import BACKOFF_MAX_S

STORM_MAX_S = 2 * BACKOFF_MAX_S  # a killed node's clients are all back within two capped back-offs
BASELINE_S = 3.0  # the other nodes' p99 "before" is over the whole seconds this long before the kill
Rows = Sequence[tuple[float, Mapping[str, int]]]  # (seconds since the load started, that second's counts)


def rows_of(per_second: Mapping[str, Mapping[str, int]], start: float) -> list[tuple[float, Mapping[str, int]]]:
    return [
        (round(int(second) - start, 3), counts)
        for second, counts in sorted(per_second.items(), key=lambda item: int(item[0]))
    ]


def storm_fields(rows: Rows, events: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The reconnect storm after a node's SIGKILL: the window runs from the kill's second to the last second,
    within STORM_MAX_S, in which clients reconnected; the other nodes' p99 in it beside theirs in the BASELINE_S
    before the kill (not since the start: every user's login at the ramp-up would weigh on it). Empty when nothing
    was killed."""
    kill = next((event for event in events if event.get("killed")), None)
    if kill is None:
        return {}
    at, victim = float(kill["t"]), str(kill["killed"])
    after = [(t, counts) for t, counts in rows if t + 1 > at and t < at + STORM_MAX_S]
    busy = [t for t, counts in after if T.measure_total(counts, T.RECONNECTS)]
    window = [(t, counts) for t, counts in after if t <= (busy[-1] if busy else at)]
    before = [counts for t, counts in rows if at - BASELINE_S <= t and t + 1 <= at]  # after the ramp-up's logins
    return {
        "storm_window_s": round(window[-1][0] + 1 - at, 3) if window else 0.0,
        "storm_reconnects": sum(T.measure_total(counts, T.RECONNECTS) for _, counts in window),
        "storm_peak_reconnects_per_s": max((T.measure_total(c, T.RECONNECTS) for _, c in window), default=0),
        "storm_others_p99_ms": others_p99([counts for _, counts in window], victim),
        "others_p99_before_kill_ms": others_p99(before, victim),
    }


def others_p99(buckets: Sequence[Mapping[str, int]], victim: str) -> float | None:
    """The p99 of the answers of every node but `victim` over these seconds (None: none answered)."""
    merged: dict[str, int] = {}
    prefix = f"{T.NODE_LATENCY} "
    for counts in buckets:
        for key, n in counts.items():
            measure, _, bucket = key.rpartition(":")
            if measure.startswith(prefix) and measure[len(prefix) :] != victim:
                merged[bucket] = merged.get(bucket, 0) + n
    return T.percentile(merged, 0.99)


def skew_fields(rows: Rows, events: Sequence[Mapping[str, Any]], rebalance: float) -> dict[str, Any]:
    """After a scale-out: the new node's share of open long-lived connections each second, its share at the end
    (the mean of the last three whole seconds), and how many connections were opened after the join (only those
    can be on the new node: the balancer moves none that stays open, unless `--rebalance` closes some)."""
    join = next((event for event in events if event.get("added")), None)
    if join is None:
        return {}
    at, new = float(join["t"]), str(join["added"])
    series, most_on_new = [], 0
    for t, counts in rows:
        open_now = T.labels(counts, T.LIVE_OPEN)
        total = sum(open_now.values())
        if t + 1 > at and total:
            series.append({"t": t, "share": round(open_now.get(new, 0) / total, 4)})
            most_on_new = max(most_on_new, open_now.get(new, 0))
    whole = series[:-1] if len(series) > 1 else series  # the last second is cut short by the end of the load
    tail = whole[-3:]
    opened = sum(T.measure_total(counts, T.WS_CONNECTS) for t, counts in rows if t + 1 > at)  # the join's second too
    nodes = len(set(T.labels(T.sum_counts(counts for _, counts in rows), T.LIVE_OPEN)) | {new})  # N + 1
    return {
        "new_node": new,
        "new_node_share_over_time": series,
        "new_node_share_end": round(sum(row["share"] for row in tail) / len(tail), 4) if tail else None,
        "fair_share": round(1 / nodes, 4),
        "connections_opened_after_join": opened,
        "new_node_open_max": most_on_new,
        "rebalance": rebalance,
        "skew_theory": (f"the balancer closes {rebalance:.0%} of the other nodes' connections (1001) when a node "
                        "joins; their clients reconnect through the routing" if rebalance else
                        "no open connection moves: only those opened after the join can reach the new node"),
    }  # fmt: skip

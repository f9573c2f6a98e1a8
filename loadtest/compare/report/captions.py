"""Each figure's caption and its one-line "how to read", by the figure's name in plots.FIGURES."""

from __future__ import annotations

HOW_TO_READ = {
    "misses": "One bar per cell: the share of authenticated requests whose session was not found; the black diamond "
    "and whiskers are what theory expects. A red bar is outside theory's range.",
    "lost_updates": "One bar per concurrent cell: acknowledged increments that vanished. cas should stay at 0; "
    "last_write_wins shows what racing writes cost.",
    "timelines": "One panel per cell where something happened (a node killed, drained, added; Redis stopped or "
    "failed over): misses per second for each kind of user (left axis), p50 and p99 per second (right axis, log); "
    "a solid red line is a node killed, dotted red lines are the events, dashed black lines theory's miss rates.",
    "membership": "One panel per rolling-deploy, scale-out or scale-in cell: misses per second for each kind of user; "
    "a dashed black step is theory's rate between changes, so the dots should hover around it; a rise after an "
    "orange or red line is sessions lost with a node, and it must fall back.",
    "replication_cost": "Lines over node count: how p50 and p99 of writes grow, and how many replication messages a "
    "write sends; the replicated store's lines climbing while memory and redis stay flat is the cost of copies.",
    "open_connections": "One panel per cell with long-lived users (--long-lived): each node's open WebSockets or "
    "event streams, second by second. A killed node's line drops to zero at the red line and the others rise as its "
    "clients reconnect (the storm); a node that joins (green) gains only connections opened after it joined.",
    "skew": "One line per scale-out cell with long-lived users: the new node's share of the open connections after "
    "it joined. Dotted lines (no --rebalance) stay near zero, because open connections never move; solid lines "
    "(--rebalance) climb toward the dashed fair share as closed clients reconnect through the routing.",
    "latency": "One group of bars per cell, log scale: shorter is faster; the darkest bar (p99) is what the slowest "
    "1% of requests waited.",
    "shares": "One stacked bar per cell: how the requests split across nodes. Even thirds mean balanced load; a "
    "node's band shrinking shows it died or was drained.",
}
FALLBACK = "Bars and lines per cell, as labelled on the axes."


def how_to_read(name: str) -> str:
    return HOW_TO_READ.get(name, FALLBACK)

"""Each figure's caption and its one-line "how to read", by the figure's name in plots.FIGURES."""

from __future__ import annotations

HOW_TO_READ = {
    "misses": "One bar per cell: the share of authenticated requests whose session was not found; the black diamond "
    "and whiskers are what theory expects. A red bar is outside theory's range.",
    "lost_updates": "One bar per concurrent cell: acknowledged increments that vanished. cas should stay at 0; "
    "last_write_wins shows what racing writes cost.",
    "timelines": "One panel per node-failure cell: misses per second for each kind of user; the red line is the "
    "moment a node was killed, dashed lines are theory's rates before and after.",
    "latency": "One group of bars per cell, log scale: shorter is faster; the darkest bar (p99) is what the slowest "
    "1% of requests waited.",
    "shares": "One stacked bar per cell: how the requests split across nodes. Even thirds mean balanced load; a "
    "node's band shrinking shows it died or was drained.",
}
FALLBACK = "Bars and lines per cell, as labelled on the axes."


def how_to_read(name: str) -> str:
    return HOW_TO_READ.get(name, FALLBACK)

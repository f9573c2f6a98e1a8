"""What to try on the node page (`GET /` through the balancer) for a store x routing, in one line.

`sessionlab cluster` prints it under "open http://.../ in a browser", so a first-time user sees the point
of the choice they started within a few reloads.
"""

from __future__ import annotations

from nodes.contract.names import AFFINITY_COOKIE

SPREAD = "reload a few times and watch the session vanish: each node keeps only the sessions it created"
HINTS: dict[tuple[str, str], str] = {
    ("memory", "random"): SPREAD,
    ("memory", "round_robin"): SPREAD,
    ("memory", "sticky"): f"the balancer's {AFFINITY_COOKIE} cookie keeps your browser on one node, so the session "
    "stays; stop that node (its pid is above) and reload to lose it",
    ("memory", "hash"): "the session id picks the node: right after logging in the session may vanish a few times, "
    "until a login lands on the node its id hashes to; from then on it stays",
    ("memory", "route"): "the node that created your session tags its id with its own name, and the balancer sends "
    "you back there: the session stays; stop that node (its pid is above) and reload to lose it",
}
SHARED = {
    "cookie": "reload as often as you like: the node changes, the session stays (it travels, encrypted, in your "
    "cookie)",
    "redis": "reload as often as you like: the node changes, the session stays (every node reads the shared Redis)",
    "replicated": "reload as often as you like: the node changes, the session stays (every write is copied to the "
    "other nodes' memory); stop a node (its pid is above) and the others still have your session",
}
FALLBACK = "reload a few times: the page names the node that answered and whether it found your session"


def page_hint(store: str, routing: str) -> str:
    """The one-line hint for this store and routing (a generic one for choices added later)."""
    return HINTS.get((store, routing)) or SHARED.get(store) or FALLBACK


def page_lines(url: str, store: str, routing: str) -> list[str]:
    """The banner lines that point at the node page."""
    return [
        f"Watch a session: open {url}/ in a browser and log in.",
        f"  {store} + {routing}: {page_hint(store, routing)}.",
    ]

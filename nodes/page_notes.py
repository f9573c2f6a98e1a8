"""What the node page says when the browser sent a session this node does not have, for a store and routing.

A lost session and a logged-out page look the same; this note tells them apart, and says whether the choice
under test makes it expected here (memory + random: every node keeps only its own sessions) or not.
"""

from __future__ import annotations

from nodes.contract.names import COOKIE, HASH, MEMORY, RANDOM, REDIS, REPLICATED_STORE, ROUND_ROBIN

SPREADING = (RANDOM, ROUND_ROBIN)
ELSEWHERE = {
    COOKIE: "not expected: the session travels in the cookie itself; it expired, or another SESSION_SECRET made it",
    REDIS: "not expected: every node reads the same Redis; the session expired (SESSION_MAX_AGE) or Redis lost it",
    REPLICATED_STORE: "not expected: every write is copied to the other nodes; the session expired, or its node "
    "stopped before a copy arrived",
}


def missing_note(node: str, store: str, routing: str) -> str:
    """One sentence: the browser sent a session `node` does not have, and whether that is expected here."""
    return f"Your browser sent a session {node} does not have ({store} + {routing or 'unknown routing'}: " + (
        _reason(store, routing) + ")."
    )


def expected(store: str, routing: str) -> bool:
    """Whether the choice under test loses sessions between nodes by design."""
    return store == MEMORY and routing in (*SPREADING, HASH)


def _reason(store: str, routing: str) -> str:
    if store != MEMORY:
        return ELSEWHERE.get(store, "not expected with a shared store")
    if routing in SPREADING:
        return "expected here: each node keeps only the sessions it created, and this routing spreads requests"
    if routing == HASH:
        return "expected right after a login: the session id picks the node, and another node answered the login"
    if not routing:
        return "each node keeps only the sessions it created; set NODE_ROUTING to say which routing sent you here"
    return "not expected with this routing: the node that created it stopped, or the balancer sent you elsewhere"

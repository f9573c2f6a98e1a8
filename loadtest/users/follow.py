"""Who served a user, followed answer by answer: re-pins, the nodes of each session, a re-issued affinity cookie.

Real balancers differ exactly here (one re-pins a user once after a node dies, another spreads it over every node;
one issues a new affinity cookie, another keeps the orphaned one), so every user counts it into the tally.
Pure Python: no locust import here.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from loadtest.users import tally as T


class Follower:
    """One user's view of the nodes that answered it and of the balancer's affinity cookie."""

    def __init__(self, tally: T.Tally, kind: str, affinity_cookie: str) -> None:
        self.tally = tally
        self.kind = kind
        self.affinity_cookie = affinity_cookie
        self.last_node: str | None = None  # who answered last (a change is a re-pin)
        self.session_nodes: set[str] = set()  # who answered since the last login
        self.affinity = ""  # the affinity cookie as this user last held it

    def answered(self, node: str | None, jar: Iterable[Any] | None) -> None:
        """One answer: from `node` (its X-Node-Id), with the user's cookie jar after it (None: no jar)."""
        if node:
            if self.last_node is not None and node != self.last_node:
                self.tally.count(T.REPINS, self.kind)
            self.last_node = node
            self.session_nodes.add(node)
        if jar is not None:
            affinity = next((c.value or "" for c in jar if c.name == self.affinity_cookie), "")
            if self.affinity and affinity and affinity != self.affinity:
                self.tally.count(T.COOKIE_REISSUED, self.kind)
            self.affinity = affinity or self.affinity

    def session_ended(self) -> None:
        """Count how many nodes served the session that ends here (at a new login, or when the user stops)."""
        if self.session_nodes:
            self.tally.count(T.SESSION_NODES, str(len(self.session_nodes)))
        self.session_nodes = set()

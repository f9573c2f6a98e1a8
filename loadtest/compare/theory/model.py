"""The records every theory shares: what a run exposed, what it should have measured, how far it may stray.

A theory module (expect, replicated, churn) turns a run's exposure into an `Expectation`; the cell record
compares the measured miss rate with it. Nothing here knows a store or a scenario.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from nodes.contract.names import RANDOM, ROUND_ROBIN

KINDS = ("browser", "app")
# The routings that pick a node per request with no regard for where the session lives.
SPREAD_ROUTINGS = (RANDOM, ROUND_ROBIN)

SIGMAS = 3.0  # tolerance: this many standard deviations of the expected count ...
FLOOR = 0.01  # ... plus this much miss rate for what the model leaves out (round robin is not random, ...)
FLOOR_AFTER_KILL = 0.02  # ... or this much when a node died (the health check takes a moment to notice)


@dataclass(frozen=True)
class Exposure:
    """What a run exposed to misses, per user kind: users started, session requests before/after the kill."""

    nodes: int
    users: Mapping[str, int]
    before: Mapping[str, int]
    after: Mapping[str, int] = field(default_factory=dict)
    killed: bool = False
    lag_ms: float = 0.0  # store=replicated, async: the typical copy lag the nodes measured (their last batches)

    @property
    def session_requests(self) -> int:
        return sum(self.before.values()) + sum(self.after.values())


@dataclass(frozen=True)
class Expectation:
    """Expected misses with their variance; `rate_before`/`rate_after` are the steady rates (for plots)."""

    misses: float
    variance: float
    session_requests: int
    rate_before: float
    rate_after: float | None
    explanation: str
    exact_zero: bool = False  # theory allows no miss at all: a single one is a finding

    @property
    def rate(self) -> float:
        return self.misses / self.session_requests if self.session_requests else 0.0

    def tolerance(self, killed: bool = False) -> float:
        """How far the measured miss rate may stray from `rate` before the cell is flagged."""
        if self.exact_zero or not self.session_requests:
            return 0.0
        floor = FLOOR_AFTER_KILL if killed else FLOOR
        return SIGMAS * math.sqrt(self.variance) / self.session_requests + floor

    def agrees(self, measured_rate: float, killed: bool = False) -> bool:
        return abs(measured_rate - self.rate) <= self.tolerance(killed) + 1e-12


def pinning(routing: str, kind: str) -> str:
    """How the balancer places this kind's requests: "spread", "cookie" (sticky), "tag" (route) or "hash"."""
    if routing == "hash":
        return "hash"
    if routing == "route":
        return "tag"  # the node id in the reference, cookie or header alike
    if routing == "sticky" and kind == "browser":
        return "cookie"
    return "spread"

"""How long a locust user waits between two requests: the locustfile paces its users with this, and the theory of
stale reads (a request that lands on another node before a write's copy arrived) reads the same numbers."""

from __future__ import annotations

from typing import Final

WAIT_MIN_S: Final = 0.05
WAIT_MAX_S: Final = 0.5


def share_of_gaps_under(seconds: float) -> float:
    """P(gap < seconds) for a gap drawn uniformly from [WAIT_MIN_S, WAIT_MAX_S] (locust's `between`)."""
    return min(max((seconds - WAIT_MIN_S) / (WAIT_MAX_S - WAIT_MIN_S), 0.0), 1.0)


# The locustfile's task weights (SessionUser): reads show the session, writes change it.
READ_WEIGHTS: Final = {"me": 5, "view_cart": 2}
WRITE_WEIGHTS: Final = {"counter": 3, "add_to_cart": 2, "clear_cart": 1}


def read_after_write_share() -> float:
    """The share of session requests that are reads whose previous request (same user) was a write."""
    reads, writes = sum(READ_WEIGHTS.values()), sum(WRITE_WEIGHTS.values())
    return reads * writes / (reads + writes) ** 2

"""Open-loop arrival schedules: when each request is *meant* to start, whatever the answers do.

A run at R requests/s over U users gives every user its own schedule at R/U requests/s: evenly spaced
(fixed) or with exponential gaps (Poisson; U independent Poisson streams add up to one at rate R). A user
still sends its own requests in order on its own session, so a request whose predecessor is still in flight
starts when that one answers; its latency is measured from the intended start all the same, which is what
removes coordinated omission (a stalled node's queue shows up as latency instead of as requests not sent).

Two kinds of delayed start are told apart, because they mean opposite things:
- **queued**: the user's previous request was still in flight at the intended start (the system is slow:
  the delay is the system's and belongs in the latency);
- **late**: the request left more than LATE_START_MS after the moment it could have (its intended start, or
  its predecessor's answer if that came later): the load generator itself fell behind (its CPU or its event
  loop), not the system under test.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

LATE_START_MS = 5.0  # an idle user's request leaving later than this after its intended start is a late start
GOLDEN = (math.sqrt(5) - 1) / 2  # phases k * GOLDEN mod 1 spread any number of users evenly over an interval
ON_TIME, QUEUED, LATE = "on_time", "queued", "late"
# Tally measures of the open-loop starts (labelled "all"), per second of the send:
SCHEDULED = "scheduled"  # open-loop requests sent: the achieved rate
LATE_STARTS = "late_starts"
QUEUED_STARTS = "queued_starts"
MISSED = "missed_starts"  # intended starts before the end of the load that were never sent (counted at the end)


def user_phase(index: int) -> float:
    """A fraction in [0, 1) for the index-th user: evenly spread for any number of users (low discrepancy)."""
    return (index * GOLDEN) % 1.0


@dataclass
class Schedule:
    """One user's intended start times: `rate` requests/s from `epoch` (+ a phase), fixed or Poisson."""

    rate: float
    epoch: float
    phase: float = 0.0  # fraction of one interval by which this user's first request is shifted
    poisson: bool = False
    rng: random.Random = field(default_factory=random.Random)
    _next: float = field(init=False)

    def __post_init__(self) -> None:
        if self.rate <= 0:
            raise ValueError(f"an open-loop schedule needs a positive rate, got {self.rate!r}")
        self._next = self.epoch + (self.phase * self.interval if not self.poisson else self._gap())

    @property
    def interval(self) -> float:
        return 1.0 / self.rate

    def _gap(self) -> float:
        return self.rng.expovariate(self.rate) if self.poisson else self.interval

    def peek(self) -> float:
        """The next intended start time (not consumed)."""
        return self._next

    def take(self) -> float:
        """The next intended start time; the schedule moves on by one gap whatever happened."""
        intended = self._next
        self._next += self._gap()
        return intended


def classify_start(intended: float, sent: float, idle_since: float) -> str:
    """on_time; queued (the user's previous request answered after `intended`, and this one left promptly then);
    or late (it left more than LATE_START_MS after both its intended start and the previous answer)."""
    ready = max(intended, idle_since)  # the earliest moment this request could have left
    if sent - ready > LATE_START_MS / 1000:
        return LATE
    return QUEUED if idle_since > intended else ON_TIME


def per_user_rate(total_rate: float, users: int) -> float:
    """Each of `users` users' share of the total arrival rate."""
    if users < 1:
        raise ValueError("an open-loop run needs at least one user")
    return total_rate / users

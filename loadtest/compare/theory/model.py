"""The records every theory shares: what a run exposed, what it should have measured, how far it may stray.

A theory module (expect, replicated, churn) turns a run's exposure into an `Expectation`; the cell record
compares the measured miss rate with it. Nothing here knows a store or a scenario.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
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
        """Within the band; where the band reaches zero (it cannot tell a store that loses sessions from one that
        loses none), also not implausibly few misses. Where it does not, the band is the stated theory: a count
        test there would judge by a distribution (negative binomial) the process need not have, e.g. the
        multi-modal cycles of a round-robin counter that the placement replay measures."""
        tolerance = self.tolerance(killed)
        within = abs(measured_rate - self.rate) <= tolerance + 1e-12
        if not within or self.rate - tolerance > 0:
            return within
        n = self.session_requests
        floor = FLOOR_AFTER_KILL if killed else FLOOR
        return not too_few(self.misses, self.variance, measured_rate * n, floor * n)


TOO_FEW = 0.00135  # one-sided 3 sigma: a miss count this improbably low disagrees, whatever the band allows
MODEL_SHARE = 0.5  # where the floor exceeds this share of the expected misses, the model may miss only this share


def too_few(expected: float, variance: float, measured: float, floor: float) -> bool:
    """Whether `measured` misses are implausibly few for `expected` ones (`floor`: the floor as a count).

    The band |measured - expected| <= 3 sigma + floor reaches zero where the expected rate is small (hash +
    memory: 0.020 expected, 0.023 tolerance), so it cannot tell a store that loses sessions from one that loses
    none. Below the expectation the floor is therefore relative there: what the model leaves out may lower the
    expected count by the floor or by MODEL_SHARE of it, whichever is less, to `lowest`; then the count decides:
    too few when P(X <= measured) < TOO_FEW, X Poisson(lowest) when the variance is at most the mean (rare,
    independent misses; binomial ones are tighter still, so Poisson errs towards agreeing), else the negative
    binomial of the same mean and dispersion (hash + memory's exact law: a geometric number of misses per user).
    Zero misses stay allowed while P(0) >= TOO_FEW (Poisson: while `lowest` <= 6.6). Where the expected rate is
    large the floor is the smaller cut, the count's 3 sigma is no narrower than the band's, and the band decides.
    """
    lowest = expected - min(floor, MODEL_SHARE * expected)
    count = round(measured)
    if count >= lowest or lowest <= 0:
        return False
    dispersion = max(variance / expected, 1.0)  # variance / mean, kept when the mean is lowered
    step: Callable[[int], float]
    if dispersion > 1.0:  # negative binomial: r = mean / (dispersion - 1) successes, p = 1 / dispersion
        p, r = 1 / dispersion, lowest / (dispersion - 1)
        log_pmf, step = r * math.log(p), lambda k: math.log((r + k) / (k + 1) * (1 - p))
    else:
        log_pmf, step = -lowest, lambda k: math.log(lowest / (k + 1))
    log_cdf = log_pmf
    for k in range(count):
        log_pmf += step(k)
        high, low = max(log_cdf, log_pmf), min(log_cdf, log_pmf)
        log_cdf = high + math.log1p(math.exp(low - high))
    return log_cdf < math.log(TOO_FEW)


def pinning(routing: str, kind: str) -> str:
    """How the balancer places this kind's requests: "spread", "cookie" (sticky), "tag" (route) or "hash"."""
    if routing == "hash":
        return "hash"
    if routing == "route":
        return "tag"  # the node id in the reference, cookie or header alike
    if routing == "sticky" and kind == "browser":
        return "cookie"
    return "spread"

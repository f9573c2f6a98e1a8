"""Capacity search: the highest arrival rate whose p99 stays within the SLO with (almost) no errors.

Step the rate up by a factor until a step fails, then bisect between the last pass and the first failure
until they are within `precision` of each other (or the step budget is spent). Each step is one open-loop
run; `measure(rate)` returns what it saw. With a p99 that grows with the rate, a looser SLO never gives a
lower answer (the passes of a tighter SLO are passes of the looser one, and bisection keeps its order).

A step fails for one of four reasons, recorded as `failed_by`: "slo" (p99 over the SLO), "errors" (over
the error budget), "rate" (the system answered too slowly for the users to keep their schedules) or
"generator" (the load generator could not keep the rate: a rate short of the request, mostly late starts).
A capacity bounded by the generator is a bound of this machine, not of the system,
and the result says so (`limited_by`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

DEFAULT_SLO_MS = 50.0
MAX_ERROR_RATE = 0.001  # 0.1%
START_RATE, GROWTH, PRECISION, MAX_STEPS = 100.0, 2.0, 0.1, 9
MIN_RATE = 5.0  # below this, bisecting further says nothing useful about a cluster


@dataclass(frozen=True)
class Observation:
    """What one step measured at its rate."""

    p99_ms: float | None
    error_rate: float
    generator_behind: bool = False
    rate_kept: bool = True  # False: the system held the users back (their answers came slower than their rate)
    cluster_p99_ms: float | None = None  # p99 less the generator's start lags, where the generator measured it
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Step:
    rate: float
    passed: bool
    failed_by: str | None
    p99_ms: float | None
    error_rate: float
    details: dict[str, Any]


def judge(observation: Observation, slo_ms: float, max_error_rate: float = MAX_ERROR_RATE) -> str | None:
    """Why a step fails (generator, errors, slo), or None when it passes."""
    if observation.generator_behind:
        return "generator"
    if observation.error_rate > max_error_rate:
        return "errors"
    if not observation.rate_kept:
        return "rate"
    if observation.p99_ms is None or observation.p99_ms > slo_ms:
        cluster = observation.cluster_p99_ms  # within the SLO: the generator's own lags made the difference
        return "generator" if cluster is not None and cluster <= slo_ms else "slo"
    return None


@dataclass
class Search:
    """The search's state: the best passing rate, the lowest failing one, and every step taken."""

    slo_ms: float
    start: float = START_RATE
    growth: float = GROWTH
    precision: float = PRECISION
    max_steps: int = MAX_STEPS
    max_error_rate: float = MAX_ERROR_RATE
    passed: float = 0.0
    failed: float | None = None
    steps: list[Step] = field(default_factory=list)

    def next_rate(self) -> float | None:
        """The rate to try next, or None when the search is over."""
        if len(self.steps) >= self.max_steps:
            return None
        if self.failed is None:
            return self.passed * self.growth if self.passed else self.start
        if not self.passed and self.failed <= MIN_RATE:
            return None  # failing even at a trickle: capacity 0
        if self.failed - self.passed <= self.precision * max(self.passed, MIN_RATE):
            return None
        return round((self.passed + self.failed) / 2, 1)

    def record(self, rate: float, observation: Observation) -> Step:
        reason = judge(observation, self.slo_ms, self.max_error_rate)
        step = Step(rate, reason is None, reason, observation.p99_ms, observation.error_rate, observation.details)
        self.steps.append(step)
        if reason is None:
            self.passed = max(self.passed, rate)
        else:
            self.failed = rate if self.failed is None else min(self.failed, rate)
        return step

    def limited_by(self) -> str | None:
        """What stopped the rate going higher: the failing step's reason nearest above the answer."""
        above = [s for s in self.steps if not s.passed and s.rate == self.failed]
        return above[0].failed_by if above else None

    def result(self) -> dict[str, Any]:
        return {
            "capacity_rps": self.passed,
            "capacity_slo_ms": self.slo_ms,
            "capacity_limited_by": self.limited_by(),
            "capacity_steps": [asdict(step) for step in self.steps],
        }


def search(measure: Callable[[float], Observation], search_state: Search,
           on_step: Callable[[Step], None] = lambda step: None) -> dict[str, Any]:  # fmt: skip
    """Run the search to its end with `measure` as the experiment; the result fields of a cell."""
    while (rate := search_state.next_rate()) is not None:
        on_step(search_state.record(rate, measure(rate)))
    return search_state.result()

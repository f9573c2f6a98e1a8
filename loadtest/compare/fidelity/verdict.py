"""What ran out at a capacity step, and the capacity line that says so: the cluster (SLO, errors) or the generator.

A step is `generator` when more than LATE_START_BOUND of its requests left late (over 5 ms after they could
have: loadtest/users/schedule.py) or the generator could not send the rate: its p99 from the intended start
then holds the generator's own delays, so it is never blamed on the SLO. Under the bound, a p99 from the
intended start over the SLO is still the generator's when the same latencies less each request's start lag
(`cluster_p99_ms`) stay within it (loadtest/compare/fidelity/capacity.py's `judge`). Otherwise `errors` (over the
error budget) or `slo` (the cluster's p99 over the SLO, or a rate missed because answers came too slowly).

The bound is the 1% at which a cell is flagged (loadfigures.LATE_BUDGET): at or under it at most 1% of the
requests carry more than 5 ms of the generator's delay. The sender keeps it on a busy machine because it runs
under SCHED_FIFO where allowed (loadtest/users/sender.py: at normal priority, on this shared VM, a bare timer
loop alone woke 4-11% of its timers over 5 ms late). Pure functions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from loadtest.compare.record.loadfigures import LATE_BUDGET

LATE_START_BOUND = LATE_BUDGET  # above it, a step measured the generator, not the cluster
GENERATOR, ERRORS, SLO = "generator", "errors", "slo"
LIMITS = {"generator": GENERATOR, "errors": ERRORS, "slo": SLO, "rate": SLO}  # capacity.judge's reasons
NOISE = 0.25  # capacities closer than this are not ranked: repeated runs here spread by up to ~25% (issue 29)


def generator_ran_out(cell: Mapping[str, Any]) -> bool:
    """Whether a step's generator fell behind: too many late starts, or a rate short because of them."""
    late = float(cell.get("late_start_rate") or 0.0)
    return late > LATE_START_BOUND or not cell.get("generator_kept_rate", True)


def step_fields(step: Mapping[str, Any]) -> dict[str, Any]:
    """A results.json step with what ran out and both p99s beside its own record."""
    details = step.get("details") or {}
    return {
        **step,
        "late_start_rate": details.get("late_start_rate"),
        "limited_by": LIMITS.get(step.get("failed_by") or ""),
        "service_p99_ms": details.get("service_p99_ms"),
        "intended_p99_ms": details.get("p99_ms"),
        "cluster_p99_ms": details.get("cluster_p99_ms"),  # from the intended start, less the generator's start lag
    }


def capacity_text(cell: Mapping[str, Any]) -> str:
    """The capacity line: `X req/s (SLO)` only when the cluster ran out; `>= X` when the generator did."""
    rate, limit = cell.get("capacity_rps") or 0.0, cell.get("capacity_limited_by")
    if limit == GENERATOR:
        return f"≥ {rate:g} req/s (the generator's ceiling here)"
    if limit == SLO:
        return f"{rate:g} req/s (SLO)"
    if limit == ERRORS:
        return f"{rate:g} req/s (errors)"
    return f"≥ {rate:g} req/s (no step failed within the search's budget)"


def bracket(cell: Mapping[str, Any]) -> tuple[float, float]:
    """Where the capacity lies: from the highest passing rate to the lowest failing one (inf: none failed)."""
    failed = [s["rate"] for s in cell.get("capacity_steps", []) if not s.get("passed")]
    return float(cell.get("capacity_rps") or 0.0), min(failed, default=float("inf"))


def ranking_note(first: Mapping[str, Any], second: Mapping[str, Any]) -> str:
    """Whether `first` (the higher capacity) really beats `second`, or the difference is within noise."""
    a, b = first.get("capacity_rps") or 0.0, second.get("capacity_rps") or 0.0
    names = f"{first['store']} vs {second['store']}"
    if GENERATOR in (first.get("capacity_limited_by"), second.get("capacity_limited_by")):
        return f"{names}: not ranked, the generator's ceiling bounded at least one of them"
    if first.get("capacity_machine_saturated_steps") or second.get("capacity_machine_saturated_steps"):
        return f"{names}: {a:g} vs {b:g} req/s, not ranked: other processes saturated the machine during the search"
    if a - b <= NOISE * max(a, 1.0) or bracket(second)[1] > a:  # or `second` never failed below `first`'s answer
        return f"{names}: {a:g} vs {b:g} req/s, within noise (under {NOISE:.0%} apart)"
    return f"{names}: {a:g} vs {b:g} req/s, {first['store']} higher (more than {NOISE:.0%} apart)"


def ranking_notes(ranked: Sequence[Mapping[str, Any]]) -> list[str]:
    return [ranking_note(first, second) for first, second in zip(ranked, ranked[1:], strict=False)]

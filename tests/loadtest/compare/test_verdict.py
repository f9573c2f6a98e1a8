"""What a capacity step is blamed on: a step whose generator started too many requests late is `generator`,
never `slo`, however high its p99; the capacity line says `≥ X (the generator's ceiling here)` then, and
`X (SLO)` only when the cluster ran out; capacities closer than the run-to-run noise, or measured on a machine
that other processes saturated, are not ranked."""

from __future__ import annotations

from typing import Any

from loadtest.compare.fidelity import capacity, verdict
from loadtest.compare.fidelity.run import observe


def step_cell(late_start_rate: float, p99_ms: float, *, errors: float = 0.0, kept: bool = True,
              cluster_p99_ms: float | None = None) -> dict[str, Any]:  # fmt: skip
    """A capacity step's cell record, as loadfigures, cells and the sender's step write it."""
    return {"late_start_rate": late_start_rate, "p99_ms": p99_ms, "service_p99_ms": 3.0, "error_rate": errors,
            "cluster_p99_ms": p99_ms if cluster_p99_ms is None else cluster_p99_ms,
            "generator_kept_rate": kept, "rate_kept": kept, "rate_short_by": None if kept else "generator",
            "achieved_rps": 1000.0}  # fmt: skip


def judged(cell: dict[str, Any], slo_ms: float = 50.0) -> dict[str, Any]:
    search = capacity.Search(slo_ms=slo_ms)
    step = search.record(1000.0, observe(cell))
    return verdict.step_fields(capacity.asdict(step))


def test_a_step_with_late_starts_above_the_bound_is_the_generator_not_the_slo() -> None:
    step = judged(step_cell(verdict.LATE_START_BOUND + 0.01, p99_ms=400.0))
    assert step["limited_by"] == "generator" and not step["passed"]
    assert step["late_start_rate"] == verdict.LATE_START_BOUND + 0.01
    assert step["intended_p99_ms"] == 400.0 and step["service_p99_ms"] == 3.0


def test_a_step_on_schedule_over_the_slo_is_the_slo_and_within_it_passes() -> None:
    assert judged(step_cell(verdict.LATE_START_BOUND / 2, p99_ms=400.0))["limited_by"] == "slo"
    passed = judged(step_cell(0.0, p99_ms=10.0))
    assert passed["passed"] and passed["limited_by"] is None


def test_under_the_bound_a_p99_over_the_slo_only_because_of_the_generators_lags_is_the_generator() -> None:
    under = verdict.LATE_START_BOUND / 2
    assert judged(step_cell(under, p99_ms=400.0, cluster_p99_ms=30.0))["limited_by"] == "generator"
    step = judged(step_cell(under, p99_ms=400.0, cluster_p99_ms=120.0))
    assert step["limited_by"] == "slo" and step["cluster_p99_ms"] == 120.0


def test_errors_over_the_budget_are_errors_and_a_rate_the_generator_could_not_send_is_the_generator() -> None:
    assert judged(step_cell(0.0, p99_ms=10.0, errors=0.05))["limited_by"] == "errors"
    assert judged(step_cell(0.0, p99_ms=10.0, kept=False))["limited_by"] == "generator"


def test_the_capacity_line_names_what_ran_out() -> None:
    assert verdict.capacity_text({"capacity_rps": 800.0, "capacity_limited_by": "generator"}) == (
        "≥ 800 req/s (the generator's ceiling here)"
    )
    assert verdict.capacity_text({"capacity_rps": 2400.0, "capacity_limited_by": "slo"}) == "2400 req/s (SLO)"


def test_close_capacities_are_within_noise_far_apart_ones_ranked_and_contended_ones_not() -> None:
    def cell(store: str, rate: float, failed: float) -> dict[str, Any]:
        steps = [{"rate": rate, "passed": True}, {"rate": failed, "passed": False}]
        return {"store": store, "capacity_rps": rate, "capacity_limited_by": "slo", "capacity_steps": steps}

    assert "within noise" in verdict.ranking_note(cell("memory", 2500.0, 2700.0), cell("redis", 2400.0, 2600.0))
    assert "memory higher" in verdict.ranking_note(cell("memory", 2500.0, 2700.0), cell("redis", 1200.0, 1300.0))
    bounded = {**cell("memory", 2500.0, 2700.0), "capacity_limited_by": "generator"}
    assert "not ranked" in verdict.ranking_note(bounded, cell("redis", 1200.0, 1300.0))
    contended = {**cell("memory", 2500.0, 2700.0), "capacity_machine_saturated_steps": 3}
    assert "not ranked" in verdict.ranking_note(contended, cell("redis", 1200.0, 1300.0))

"""The capacity search on deterministic systems: it terminates, finds the knee, and is monotone in the SLO."""

from __future__ import annotations

import pytest

from loadtest.compare.fidelity.capacity import Observation, Search, search


def knee(capacity: float, errors_from: float = 1e9, generator_limit: float = 1e9):  # noqa: ANN201
    """A system whose p99 is 2 ms up to `capacity` and grows steeply past it."""

    def measure(rate: float) -> Observation:
        p99 = 2.0 if rate <= capacity else 2.0 + (rate - capacity) * 0.5
        return Observation(p99, 0.01 if rate >= errors_from else 0.0, generator_behind=rate > generator_limit)

    return measure


def test_the_search_finds_the_knee_within_its_precision_and_terminates() -> None:
    """README: bisection to within 10%. The true capacity is 826 req/s (p99 <= 50 ms up to 730 + 48 / 0.5), so
    the answer is a passing rate within 10% below it; no margin: the system is deterministic."""
    found = search(knee(730.0), Search(slo_ms=50.0))
    answer = found["capacity_rps"]
    assert 0.9 * 826 <= answer <= 826
    steps = found["capacity_steps"]
    assert [s["rate"] for s in steps[:4]] == [100.0, 200.0, 400.0, 800.0]  # doubling first
    assert len(steps) <= Search(slo_ms=50.0).max_steps
    assert all(s["passed"] == (s["rate"] <= 826) for s in steps)


@pytest.mark.parametrize("capacity", [40.0, 300.0, 2500.0])
def test_a_looser_slo_never_gives_a_lower_capacity(capacity: float) -> None:
    """And every answer is within 10% below the true capacity of its SLO (the knee plus (slo - 2) / 0.5)."""
    slos = (5, 20, 50, 100, 400)
    answers = [search(knee(capacity), Search(slo_ms=slo))["capacity_rps"] for slo in slos]
    assert answers == sorted(answers)
    for slo, answer in zip(slos, answers, strict=True):
        true = capacity + (slo - 2) / 0.5
        assert 0.9 * true <= answer <= true, (slo, answer, true)


def test_errors_and_a_generator_that_cannot_keep_up_fail_a_step_and_say_why() -> None:
    by_errors = search(knee(10_000.0, errors_from=500.0), Search(slo_ms=50.0))
    assert 400 <= by_errors["capacity_rps"] < 500 and by_errors["capacity_limited_by"] == "errors"
    by_generator = search(knee(10_000.0, generator_limit=300.0), Search(slo_ms=50.0))
    assert by_generator["capacity_limited_by"] == "generator"
    assert {s["failed_by"] for s in by_generator["capacity_steps"]} == {None, "generator"}


def test_a_system_that_fails_at_the_first_rate_gets_capacity_zero_quickly() -> None:
    found = search(knee(0.0, errors_from=0.0), Search(slo_ms=50.0))
    assert found["capacity_rps"] == 0.0
    assert len(found["capacity_steps"]) <= Search(slo_ms=50.0).max_steps


def test_a_search_on_a_machine_saturated_by_others_says_its_answer_measures_the_machine() -> None:
    from loadtest.compare.fidelity.run import machine_verdict

    def step(busy: float, generator: float, cluster: float) -> dict[str, dict[str, float]]:
        return {"details": {"machine_busy_share": busy, "generator_cpu_share": generator, "cluster_cpu_share": cluster}}

    verdict = machine_verdict([step(1.0, 0.2, 0.3), step(0.4, 0.1, 0.2)])
    assert verdict["capacity_machine_saturated_steps"] == 1 and "1 of 2 steps" in verdict["capacity_note"]
    assert machine_verdict([step(0.3, 0.1, 0.1)])["capacity_note"] is None
    # the lab's own generator and cluster filling the machine is what a failing step is, not contention
    assert machine_verdict([step(0.95, 0.35, 0.55)])["capacity_note"] is None

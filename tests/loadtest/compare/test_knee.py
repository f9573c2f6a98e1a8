"""wrk's knee beside the lab's capacity: the highest throughput whose p99 stayed within the SLO with no errors."""

from __future__ import annotations

from loadtest.compare.fidelity.knee import knee_of


def row(connections: int, rps: float, p99_ms: float, errors: int = 0) -> dict[str, float | int]:
    return {"connections": connections, "rps": rps, "p50_ms": p99_ms / 4, "p99_ms": p99_ms, "errors": errors}


def test_the_knee_is_the_best_throughput_within_the_slo_and_the_peak_is_the_best_at_all() -> None:
    rows = [row(1, 900.0, 3.0), row(4, 2500.0, 20.0), row(16, 2900.0, 45.0, errors=3), row(64, 3100.0, 240.0)]
    assert knee_of(rows, 50.0) == {"knee_rps": 2500.0, "knee_connections": 4, "peak_rps": 3100.0}


def test_no_row_within_the_slo_gives_no_knee() -> None:
    assert knee_of([row(1, 400.0, 90.0)], 50.0) == {"knee_rps": None, "knee_connections": None, "peak_rps": 400.0}

"""`sessionlab compare --capacity` for real, kept short: it says how long it will take, steps the rate up on
a real cluster, and writes each step (what ran out, late starts, both p99s), the answer, the generator's own
ceiling and wrk's knee into results.json and the ranking into report.md."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from loadtest.compare.fidelity.generator import CEILING_RATES
from loadtest.compare.fidelity.verdict import LATE_START_BOUND
from tests.support import results, sessionlab

pytestmark = pytest.mark.timeout(170)


def test_a_short_capacity_search_terminates_with_its_steps_and_answer(tmp_path: Path) -> None:
    done = sessionlab("compare", "--capacity", "--capacity-steps", "2", "--store", "memory", "--routing", "sticky",
                      "--users", "10", "--duration", "4", "--slo-ms", "5000", "--out", str(tmp_path),
                      timeout=150)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert re.search(r"this takes at most \d+\.\d min", done.stdout)
    cell = results(tmp_path)["cells"][0]
    steps = cell["capacity_steps"]
    assert len(steps) == 2 and steps[0]["rate"] == 100.0
    assert steps[1]["rate"] == (200.0 if steps[0]["passed"] else 50.0)  # doubles after a pass, bisects after a fail
    for step in steps:
        assert step["passed"] == (step["failed_by"] is None) == (step["limited_by"] is None)
        assert step["limited_by"] in (None, "slo", "errors", "generator")
        assert step["details"]["achieved_rps"] > 0 and step["details"]["generator_cpu_share"] is not None
        assert 0 <= step["late_start_rate"] <= 1 and step["service_p99_ms"] > 0 and step["intended_p99_ms"] > 0
        if step["late_start_rate"] > LATE_START_BOUND:
            assert step["limited_by"] == "generator"
    assert cell["generator"] == "sender" and cell["generator_ceiling_rps"] >= 0
    assert cell["generator_scheduling"] in ("fifo", "default")
    assert cell["generator_ceiling_steps"][0]["rate"] == CEILING_RATES[0]
    assert cell["knee_cross_check"]["tool"] == "wrk"
    passed = [s["rate"] for s in steps if s["passed"]]
    assert cell["capacity_rps"] == (max(passed) if passed else 0.0)
    assert cell["capacity_slo_ms"] == 5000.0
    report = (tmp_path / "report.md").read_text()
    assert "Capacity (p99 <= 5000 ms" in report and cell["capacity_text"] in report

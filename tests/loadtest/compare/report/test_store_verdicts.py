"""Each store's paragraph names the cause that fits it: Redis' own faults for redis, replication for replicated."""

from __future__ import annotations

from typing import Any

from loadtest.compare.report.text import store_verdicts

from ..generated import cell
from .reading import numbers


def redis_store_failure() -> dict[str, Any]:
    """A redis cell whose Redis restarted empty: what the store-failure scenario measures."""
    failed = cell("random", "redis", "steady", 0.0)
    failed.update(scenario="store-failure", misses=40, session_requests=1571, expected_miss_rate=0.0255,
                  outage_s=3.02, sessions_lost=300, sessions_checked=300, errors=443, errors_by_status={"503": 443},
                  theory="no persistence: Redis restarts empty")  # fmt: skip
    return failed


def test_redis_misses_cite_the_store_fault_not_replication() -> None:
    verdict = store_verdicts([cell("random", "redis", "steady", 0.0), redis_store_failure()])["redis"]
    assert "replication_traffic" not in verdict and "failed sends" not in verdict
    assert numbers(r"# of # authenticated requests missed", verdict) == [(40, 2171)]
    assert "where Redis itself failed" in verdict
    fault = verdict[verdict.index("random / store-failure:") :]
    assert numbers(r"out for # s \(# requests failed, 503: #\)", fault) == [(3.02, 443, 443)]
    assert numbers(r"# of # sessions acknowledged before the fault", fault) == [(300, 300)]
    assert numbers(r"# requests missed \(theory #%\)", fault) == [(40, 2.5)]
    assert "no persistence: Redis restarts empty" in fault  # the cell's own theory, as the cause


def test_redis_misses_without_a_measured_fault_say_so() -> None:
    odd = {**cell("random", "redis", "steady", 0.0), "misses": 5}
    verdict = store_verdicts([odd])["redis"]
    assert numbers(r"random / steady: # \(theory #%\)", verdict) == [(5, 0.0)]
    assert "no store fault measured" in verdict
    assert "where Redis itself failed" not in verdict and "replication_traffic" not in verdict


def test_replicated_misses_keep_the_replication_wording() -> None:
    replicated = {**cell("random", "redis", "steady", 0.0), "store": "replicated", "replication": "all-async",
                  "misses": 12}  # fmt: skip
    verdict = store_verdicts([replicated])["replicated all-async"]
    assert "copies in memory" in verdict and "where Redis itself failed" not in verdict
    assert numbers(r"random / steady: # \(theory #%\)", verdict) == [(12, 0.0)]
    assert "replication_traffic" in verdict and "failed sends" in verdict

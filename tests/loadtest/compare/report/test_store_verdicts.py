"""Each store's paragraph names the cause that fits it: Redis' own faults for redis, replication for replicated."""

from __future__ import annotations

from typing import Any

from loadtest.compare.report.text import store_verdicts

from ..generated import cell


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
    assert "40 of 2,171 authenticated requests missed, all in cells where Redis itself failed" in verdict
    assert "random / store-failure: Redis was out for 3.02 s (443 requests failed, 503: 443)" in verdict
    assert "300 of 300 sessions acknowledged before the fault were gone after it" in verdict
    assert "40 requests missed (theory 2.5%). Why: no persistence: Redis restarts empty." in verdict


def test_redis_misses_without_a_measured_fault_say_so() -> None:
    odd = {**cell("random", "redis", "steady", 0.0), "misses": 5}
    verdict = store_verdicts([odd])["redis"]
    assert "random / steady: 5 (theory 0.0%) with no store fault measured" in verdict
    assert "all in cells where Redis itself failed" not in verdict and "replication_traffic" not in verdict


def test_replicated_misses_keep_the_replication_wording() -> None:
    replicated = {**cell("random", "redis", "steady", 0.0), "store": "replicated", "replication": "all-async",
                  "misses": 12}  # fmt: skip
    verdict = store_verdicts([replicated])["replicated all-async"]
    assert verdict.startswith("Every node can read every session (each node holds copies in memory")
    assert "random / steady: 12 (theory 0.0%)" in verdict
    assert "replication_traffic (failed sends leave a peer out" in verdict

"""The Recommendation names where its choice is set: the balancer and the directive of its generated config."""

from __future__ import annotations

from typing import Any

from loadtest.compare.report.directive import behind


def cell(balancer: str, miss_rate: float, **extra: Any) -> dict[str, Any]:
    return {"balancer": balancer, "routing": "sticky", "store": "redis", "scenario": "node-failure",
            "miss_rate": miss_rate, "misses": int(miss_rate * 1000), **extra}  # fmt: skip


def test_each_balancer_it_lost_nothing_behind_is_named_with_its_directive_and_drain() -> None:
    text = behind("sticky", [cell("sessionlab", 0.0), cell("haproxy", 0.0), cell("apache", 0.02)])
    assert text.startswith(" Behind sessionlab: BALANCER_ROUTING=sticky (HMAC cookie SL_ROUTE, redispatch); drain: ")
    assert ("behind HAProxy: `cookie SL_ROUTE insert indirect nocache` + `option redispatch`; "
            "drain: `set server nodes/NODE state drain`") in text  # fmt: skip
    assert text.endswith("Not as well behind Apache httpd missed up to 2.0%.")


def test_when_it_lost_something_everywhere_the_least_lossy_balancer_is_named() -> None:
    text = behind("sticky", [cell("caddy", 0.05), cell("haproxy", 0.01, sessions_lost=0)])
    assert text.startswith(" Behind HAProxy: `cookie SL_ROUTE insert indirect nocache`")
    assert "Caddy missed up to 5.0%" in text and behind("sticky", []) == ""

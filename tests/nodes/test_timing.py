"""A node counts its own time for every request the load sends, and none for health checks or its own readings."""

from __future__ import annotations

from nodes.contract.names import NODE_SERVICE_TIME_PATH
from tests.nodes.calls import login, me


async def test_the_service_time_counts_the_loads_requests_only(start_node, client):  # type: ignore[no-untyped-def]
    node = await start_node("memory")
    browser = client()
    await login(browser, node)
    for _ in range(3):
        await me(browser, node)
    for path in ("/healthz", "/readyz", NODE_SERVICE_TIME_PATH):
        assert (await browser.get(f"{node}{path}")).status == 200
    reading = await (await browser.get(f"{node}{NODE_SERVICE_TIME_PATH}")).json()
    assert reading["count"] == 4 and sum(reading["buckets"].values()) == 4  # one login, three reads
    assert reading["total_ms"] > 0

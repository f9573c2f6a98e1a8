"""GET /_node/session-stats: the node's session counters, every contract field, the load's requests only."""

from __future__ import annotations

from nodes.contract.names import NODE_SESSION_STATS_PATH, SESSION_STATS_FIELDS
from tests.nodes.calls import login, me


async def stats(client, node: str) -> dict[str, int]:  # type: ignore[no-untyped-def]
    response = await client.get(f"{node}{NODE_SESSION_STATS_PATH}")
    assert response.status == 200
    return await response.json()  # type: ignore[no-any-return]


async def test_every_field_is_there_and_requests_count_the_load_only(start_node, client):  # type: ignore[no-untyped-def]
    node = await start_node("memory")
    browser = client()
    assert list(await stats(browser, node)) == list(SESSION_STATS_FIELDS)
    await login(browser, node)
    assert (await me(browser, node))[0] == 200
    await browser.get(f"{node}/healthz")
    after = await stats(browser, node)
    assert after["requests"] == 2  # login and /me; neither /healthz nor the stats themselves
    assert (after["store_writes"], after["store_reads"]) == (1, 1)
    assert after["store_bytes_written"] > 0 and after["store_bytes_read"] > 0

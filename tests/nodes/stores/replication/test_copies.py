"""Three replicating node processes: a login on one is seen by the others, in sync and async mode."""

from __future__ import annotations

import aiohttp

from tests.nodes.stores.replication.conftest import ClusterFactory
from tests.nodes.stores.replication.support import PATIENT, connected, eventually, increment, login, me, stats


async def test_sync_login_is_seen_by_the_others_at_once(start_cluster: ClusterFactory, http: aiohttp.ClientSession):
    cluster = start_cluster(3, **PATIENT)
    await connected(http, cluster)
    first, *others = cluster.nodes
    token = await login(http, first)
    for node in others:
        status, body = await me(http, node, token)
        assert (status, body["user"], body["node"]) == (200, "ann", f"node-{node.index + 1}")
    assert await increment(http, others[0], token) == 1
    assert (await me(http, others[1], token))[1]["counter"] == 1  # a write on one node, read on a third


async def test_async_login_is_seen_within_the_lag(start_cluster: ClusterFactory, http: aiohttp.ClientSession):
    """README: the copy lag is a few ms on loopback. Margin: 250 ms, for a loaded 2-core machine that may leave a
    node process unscheduled for a while; a batch held back on purpose (or a second's retry) fails this."""
    cluster = start_cluster(3, SESSION_REPLICATION_MODE="async")
    await connected(http, cluster)
    first, *others = cluster.nodes
    token = await login(http, first)

    async def everywhere() -> bool:
        return [(await me(http, node, token))[0] for node in others] == [200, 200]

    await eventually(everywhere, within=5.0)
    figures = await stats(http, first)
    assert figures["mode"] == "async" and figures["peers_live"] == 2
    assert 0 < figures["lag_ms_max"] < 250, figures

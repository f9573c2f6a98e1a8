"""`route`: route-tagged session references (`<reference>.<node id>`, Tomcat's jvmRoute): the tag names the node,
the balancer keeps no state and no cookie, and a tag naming no available node is redispatched by hash."""

from __future__ import annotations

import secrets
from collections import Counter
from typing import Any

import aiohttp
from aiohttp import web

from balancer.routing.base import RouteRequest
from balancer.routing.hash import HashRing
from balancer.routing.route import RoutePolicy
from balancer.upstreams import UpstreamRegistry
from nodes.contract.names import ROUTE_SEPARATOR
from tests.balancer.support import FakeNode, eventually

NODES = [f"http://10.0.0.{index}:8081" for index in range(1, 4)]


def registry_with_ids() -> UpstreamRegistry:
    """Three upstreams whose health checks said they are n0, n1, n2."""
    registry = UpstreamRegistry(NODES)
    for index, upstream in enumerate(registry.members):
        registry.mark_up(upstream, f"n{index}")
    return registry


def tagged(reference: str, node_id: str) -> str:
    return f"{reference}{ROUTE_SEPARATOR}{node_id}"


def test_the_tag_names_the_node_in_the_cookie_or_the_header() -> None:
    registry, policy = registry_with_ids(), RoutePolicy("SL_SESSION")
    by_cookie = policy.choose(RouteRequest(cookie=f"a=1; SL_SESSION={tagged('abc', 'n2')}"), registry.view)
    assert by_cookie.upstream is registry.members[2] and not by_cookie.redispatched
    assert by_cookie.set_cookie is None  # no cookie of the balancer's own
    by_header = policy.choose(RouteRequest(session_token=tagged("xyz", "n1")), registry.view)
    assert by_header.upstream is registry.members[1]


def test_a_tag_naming_no_available_node_goes_by_hash_of_the_reference() -> None:
    registry, policy = registry_with_ids(), RoutePolicy("SL_SESSION")
    registry.mark_down(registry.members[1], "test")
    registry.set_draining(registry.members[2], True)
    available = [NODES[0]]
    for node_id in ("n1", "n2", "n9", ""):  # down, draining, unknown, empty
        routes = [policy.choose(RouteRequest(session_token=tagged("ref", node_id)), registry.view) for _ in range(3)]
        assert all(route.redispatched and route.upstream.url in available for route in routes)
    registry.set_draining(registry.members[2], False)
    spread = Counter(
        policy.choose(RouteRequest(session_token=tagged(f"ref-{i}", "n9")), registry.view).upstream.url
        for i in range(300)
    )
    ring = HashRing([NODES[0], NODES[2]])
    assert spread == Counter(ring.lookup(f"ref-{i}") for i in range(300))  # the hash of the reference, not the tag


def test_a_route_is_unknown_until_a_health_check_says_it() -> None:
    registry, policy = UpstreamRegistry(NODES), RoutePolicy("SL_SESSION")
    assert policy.choose(RouteRequest(session_token=tagged("ref", "n0")), registry.view).redispatched
    registry.mark_up(registry.members[0], "n0")
    route = policy.choose(RouteRequest(session_token=tagged("ref", "n0")), registry.view)
    assert route.upstream is registry.members[0] and not route.redispatched


def test_no_tagged_reference_goes_round_robin() -> None:
    registry, policy = registry_with_ids(), RoutePolicy("SL_SESSION")
    for request in (RouteRequest(), RouteRequest(session_token="new"), RouteRequest(cookie="SL_SESSION=untagged")):
        picks = [policy.choose(request, registry.view) for _ in range(3)]
        assert {route.upstream.url for route in picks} == set(NODES)
        assert not any(route.redispatched for route in picks)


def test_a_forged_tag_moves_only_the_forgers_own_requests() -> None:
    registry, policy = registry_with_ids(), RoutePolicy("SL_SESSION")
    honest = RouteRequest(session_token=tagged("victim", "n0"))
    forged = RouteRequest(session_token=tagged("victim", "n2"))
    assert policy.choose(forged, registry.view).upstream is registry.members[2]
    assert policy.choose(honest, registry.view).upstream is registry.members[0]  # no state: nothing moved


# Through a real balancer, with real upstreams that tag the references they issue.


def tagging_routes(node_id: str) -> list[web.RouteDef]:
    """A node with SESSION_ROUTE_TAG, reduced to what routing sees: it issues `<reference>.<its id>`."""

    async def login(request: web.Request) -> web.Response:
        reference = tagged(secrets.token_urlsafe(16), node_id)
        response = web.json_response({"node": node_id}, headers={"X-Node-Id": node_id})
        if request.headers.get("X-Session-Token") is not None:
            response.headers["X-Session-Token"] = reference
        else:
            response.set_cookie("SL_SESSION", reference, httponly=True)
        return response

    return [web.post("/login", login)]


async def start_tagging_nodes(aiohttp_server: Any, count: int = 3) -> list[FakeNode]:
    nodes = [FakeNode(f"n{index}", tagging_routes(f"n{index}")) for index in range(count)]
    for node in nodes:
        await node.start(aiohttp_server)
    return nodes


async def get_ids(session: aiohttp.ClientSession, url: str, count: int, **headers: str) -> list[str]:
    ids = []
    for _ in range(count):
        async with session.get(url + "/me", headers=headers) as response:
            ids.append(response.headers["X-Node-Id"])
    return ids


async def test_browsers_and_app_clients_stay_on_the_node_that_issued_their_reference(
    aiohttp_server, start_balancer, client
) -> None:
    nodes = await start_tagging_nodes(aiohttp_server)
    balancer = await start_balancer(nodes, routing="route", health_timeout=2.0)  # no flapping on a busy machine
    await eventually(lambda: all(item["node_id"] for item in balancer.status()["upstreams"]))
    assert [item["node_id"] for item in balancer.status()["upstreams"]] == ["n0", "n1", "n2"]
    for _ in range(3):
        browser = client()
        async with browser.post(balancer.url + "/login") as response:
            issuer = response.headers["X-Node-Id"]
        assert set(await get_ids(browser, balancer.url, 5)) == {issuer}
        assert [cookie.key for cookie in browser.cookie_jar] == ["SL_SESSION"]  # no cookie of the balancer's own
        app = client(cookies=False)
        async with app.post(balancer.url + "/login", headers={"X-Session-Token": "new"}) as response:
            issuer, token = response.headers["X-Node-Id"], response.headers["X-Session-Token"]
        assert set(await get_ids(app, balancer.url, 5, **{"X-Session-Token": token})) == {issuer}
    assert balancer.status()["redispatches"] == 0


async def test_a_drained_or_dead_node_s_clients_are_redispatched_by_hash(aiohttp_server, start_balancer, client):
    nodes = await start_tagging_nodes(aiohttp_server)
    balancer = await start_balancer(nodes, routing="route", health_timeout=2.0)  # no flapping on a busy machine
    await eventually(lambda: all(item["node_id"] for item in balancer.status()["upstreams"]))
    app = client(cookies=False)
    token = tagged("some-reference", "n1")
    assert set(await get_ids(app, balancer.url, 3, **{"X-Session-Token": token})) == {"n1"}
    balancer.app.registry.set_draining(balancer.app.registry.get(nodes[1].url), True)
    owner = HashRing([nodes[0].url, nodes[2].url]).lookup("some-reference")
    expected = nodes[[node.url for node in nodes].index(owner)].node_id
    assert set(await get_ids(app, balancer.url, 3, **{"X-Session-Token": token})) == {expected}
    assert balancer.status()["redispatches"] == 3
    balancer.app.registry.set_draining(balancer.app.registry.get(nodes[1].url), False)
    await nodes[1].stop()
    await eventually(lambda: balancer.upstream(nodes[1].url)["state"] == "down")
    assert set(await get_ids(app, balancer.url, 3, **{"X-Session-Token": token})) == {expected}


def test_nodes_that_do_not_tag_are_named_once_in_the_log(caplog: Any) -> None:
    """Route in front of nodes without SESSION_ROUTE_TAG would be round robin in silence."""
    from balancer.routing.route import UNTAGGED_WARNING

    registry, policy = registry_with_ids(), RoutePolicy("SL_SESSION")
    for index in range(2 * UNTAGGED_WARNING):
        policy.choose(RouteRequest(session_token=f"untagged-{index}"), registry.view)
        policy.choose(RouteRequest(session_token="new"), registry.view)  # asking for a session is no reference
    warnings = [r for r in caplog.records if "SESSION_ROUTE_TAG=1" in r.getMessage()]
    assert len(warnings) == 1

    caplog.clear()
    tagging = RoutePolicy("SL_SESSION")
    tagging.choose(RouteRequest(session_token=tagged("abc", "n0")), registry.view)
    for index in range(2 * UNTAGGED_WARNING):  # untagged references beside tagged ones: a node being migrated
        tagging.choose(RouteRequest(session_token=f"untagged-{index}"), registry.view)
    assert not [r for r in caplog.records if "SESSION_ROUTE_TAG=1" in r.getMessage()]


async def test_a_started_balancer_knows_every_route_before_its_first_request(aiohttp_server, start_balancer):
    """A restarted balancer (a reload, a deploy of the balancer) must not redispatch the tagged requests that
    arrive before its first health check: with memory sessions each of them would miss."""
    nodes = await start_tagging_nodes(aiohttp_server)
    balancer = await start_balancer(nodes, routing="route", health_interval=60.0, health_timeout=2.0)
    assert [item["node_id"] for item in balancer.status()["upstreams"]] == ["n0", "n1", "n2"]

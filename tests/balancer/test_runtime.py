"""The runtime API through a real balancer and real upstream servers: authentication, add (traffic only after a
passing check), remove, drain and ready, bad bodies, and what a drain means in each routing mode."""

from __future__ import annotations

import hmac
import json
import logging
import socket
from typing import Any

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families
from yarl import URL

from loadtest.lab.processes import free_port
from nodes.contract.envconfig import Secret
from tests.balancer.support import FakeNode, eventually

TOKEN = "runtime-api-token-for-tests"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
CALLS = [
    ("POST", "/_balancer/upstreams"),
    ("DELETE", "/_balancer/upstreams"),
    ("POST", "/_balancer/upstreams/drain"),
    ("POST", "/_balancer/upstreams/ready"),
]


def membership(balancer: Any) -> list[tuple[str, str]]:
    """What a runtime call can change: which nodes there are and their state."""
    return [(item["url"], item["state"]) for item in balancer.status()["upstreams"]]


async def call(session: aiohttp.ClientSession, balancer: Any, method: str, path: str, body: Any, **headers: str):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    async with session.request(method, balancer.url + path, data=data, headers=headers or AUTH) as response:
        return response.status, await response.json()


async def served_by(session: aiohttp.ClientSession, balancer: Any, count: int, **headers: str) -> list[str]:
    ids = []
    for _ in range(count):
        async with session.get(balancer.url + "/work", headers=headers) as response:
            assert response.status == 200
            ids.append(response.headers["X-Node-Id"])
    return ids


@pytest.fixture
async def admin_balancer(start_nodes, start_balancer):
    """Three nodes behind a round-robin balancer with the runtime API on."""

    async def start(routing: str = "round_robin", count: int = 3, **overrides: Any) -> tuple[list[FakeNode], Any]:
        nodes = await start_nodes(count)
        overrides.setdefault("health_timeout", 2.0)  # a loaded machine must not flap a node's state mid-test
        balancer = await start_balancer(nodes, routing=routing, admin_token=Secret(TOKEN), **overrides)
        await eventually(lambda: all(item["node_id"] for item in balancer.status()["upstreams"]))  # checked once
        return nodes, balancer

    return start


async def test_without_a_token_configured_the_runtime_api_does_not_exist(start_nodes, start_balancer, client):
    nodes = await start_nodes(1)
    balancer = await start_balancer(nodes)
    session = client()
    for method, path in CALLS:
        status, body = await call(session, balancer, method, path, {"url": nodes[0].url})
        assert (status, body["error"]) == (404, "not_found")
    assert balancer.upstream(nodes[0].url)["state"] == "ready"
    assert nodes[0].seen == []


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong-token-of-some-length"}, {"Authorization": TOKEN}, {"X-Other": "1"}],
    ids=["missing", "wrong", "no-scheme", "other-header"],
)
async def test_a_missing_or_wrong_token_is_a_401_that_changes_nothing(admin_balancer, client, headers) -> None:
    nodes, balancer = await admin_balancer()
    before = membership(balancer)
    session = client()
    for method, path in CALLS:
        async with session.request(
            method, balancer.url + path, json={"url": nodes[0].url}, headers=headers
        ) as response:
            assert response.status == 401
            assert response.headers["WWW-Authenticate"].startswith("Bearer")
            assert (await response.json())["error"] == "unauthorized"
    assert membership(balancer) == before
    assert all(node.seen == [] for node in nodes)


async def test_the_token_is_compared_in_constant_time(admin_balancer, client, monkeypatch) -> None:
    """README: the token is compared in constant time. The balancer runs in this process, so a recording wrapper
    around `hmac.compare_digest` (the real one does the comparing) shows that every check goes through it."""
    compared: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def recording(given: bytes, expected: bytes) -> bool:
        compared.append((bytes(given), bytes(expected)))
        return real(given, expected)

    monkeypatch.setattr(hmac, "compare_digest", recording)
    nodes, balancer = await admin_balancer(count=1)
    session = client()
    wrong = {"Authorization": "Bearer wrong-token-of-some-length"}
    drain = ("POST", "/_balancer/upstreams/drain", {"url": nodes[0].url})
    refused, accepted = await call(session, balancer, *drain, **wrong), await call(session, balancer, *drain)
    assert (refused[0], accepted[0]) == (401, 200)
    token = TOKEN.encode()
    assert [pair for pair in compared if token in pair] == [(b"wrong-token-of-some-length", token), (token, token)]


async def test_a_node_added_at_run_time_gets_traffic_only_after_a_passing_check(
    admin_balancer, start_nodes, client
) -> None:
    nodes, balancer = await admin_balancer(count=2)
    [new] = await start_nodes(1, prefix="new")
    new.healthy = False
    session = client()
    status, body = await call(session, balancer, "POST", "/_balancer/upstreams", {"url": new.url + "/"})
    assert status == 200 and (body["url"], body["state"], body["added"]) == (new.url, "down", True)
    assert body["check"] == "failed: status 503", body  # the answer waited for the first check and says why
    assert body["message"].startswith("added; its first health check failed (status 503): it gets traffic once")
    await eventually(lambda: new.health_checks > 0)
    assert "new0" not in await served_by(session, balancer, 6)
    assert balancer.upstream(new.url)["state"] == "down"
    new.healthy = True
    await eventually(lambda: balancer.upstream(new.url)["state"] == "ready")
    assert "new0" in await served_by(session, balancer, 6)
    status, body = await call(session, balancer, "POST", "/_balancer/upstreams", {"url": new.url})
    assert status == 200 and body == {"url": new.url, "state": "ready", "added": False, "message": "already a member"}


async def test_adding_a_live_node_answers_with_its_passed_check(admin_balancer, start_nodes, client) -> None:
    nodes, balancer = await admin_balancer(count=1)
    [new] = await start_nodes(1, prefix="live")
    status, body = await call(client(), balancer, "POST", "/_balancer/upstreams", {"url": new.url})
    assert status == 200 and (body["state"], body["added"], body["check"]) == ("ready", True, "passed"), body
    assert body["message"] == "added; its first health check passed: it gets new clients now"


async def test_adding_a_closed_port_says_the_check_failed(admin_balancer, client) -> None:
    nodes, balancer = await admin_balancer(count=1)
    closed = f"http://127.0.0.1:{free_port()}"
    status, body = await call(client(), balancer, "POST", "/_balancer/upstreams", {"url": closed})
    assert status == 200 and (body["state"], body["added"]) == ("down", True), body
    assert body["check"].startswith("failed: ") and "connect" in body["check"].lower(), body


async def test_a_removed_node_gets_nothing_more(admin_balancer, client) -> None:
    nodes, balancer = await admin_balancer()
    session = client()
    status, body = await call(session, balancer, "DELETE", "/_balancer/upstreams", {"url": nodes[2].url})
    assert status == 200 and body == {"url": nodes[2].url, "removed": True}
    assert nodes[2].url not in [upstream["url"] for upstream in balancer.status()["upstreams"]]
    assert "n2" not in await served_by(session, balancer, 9)
    status, body = await call(session, balancer, "DELETE", "/_balancer/upstreams", {"url": nodes[2].url})
    assert status == 200 and body == {"url": nodes[2].url, "removed": False}  # idempotent: nothing left to remove
    assert [upstream["url"] for upstream in balancer.status()["upstreams"]] == [nodes[0].url, nodes[1].url]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/%5Fbalancer/upstreams/drain"),
        ("POST", "/_balancer/upstreams%2Fdrain"),
        ("POST", "//_balancer/upstreams/drain"),
        ("POST", "/_balancer//upstreams/drain"),
        ("POST", "/a/../_balancer/upstreams/drain"),
        ("POST", "/_balancer/./upstreams/drain?x=1"),
        ("DELETE", "/%5F%62alancer/upstreams"),
        ("DELETE", "/_balancer/status/../upstreams"),
    ],
)
async def test_other_spellings_of_a_runtime_path_are_a_404_and_never_reach_a_node(
    admin_balancer, client, method, path
) -> None:
    """A node's router decodes and normalizes the path: these would be runtime paths to it, so the balancer keeps
    them (a node would see the token) and, as for /_replication/, answers them 404 itself, changing nothing."""
    nodes, balancer = await admin_balancer()
    before = membership(balancer)
    data = json.dumps({"url": nodes[0].url}).encode()
    async with client().request(method, URL(balancer.url + path, encoded=True), data=data, headers=AUTH) as response:
        assert response.status == 404, path
        assert (await response.json())["error"] == "not_found"
    assert membership(balancer) == before
    assert all(node.seen == [] for node in nodes)


async def test_drain_and_ready_set_the_state_idempotently(admin_balancer, client) -> None:
    nodes, balancer = await admin_balancer()
    session = client()
    for _ in range(2):
        status, body = await call(session, balancer, "POST", "/_balancer/upstreams/drain", {"url": nodes[1].url})
        assert status == 200 and body == {"url": nodes[1].url, "state": "draining"}
    assert [upstream["state"] for upstream in balancer.status()["upstreams"]] == ["ready", "draining", "ready"]
    assert "n1" not in await served_by(session, balancer, 9)  # round robin: it left the rotation
    for _ in range(2):
        status, body = await call(session, balancer, "POST", "/_balancer/upstreams/ready", {"url": nodes[1].url})
        assert status == 200 and body == {"url": nodes[1].url, "state": "ready"}
    assert sorted(set(await served_by(session, balancer, 9))) == ["n0", "n1", "n2"]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"not json", "not JSON"),
        (b"[]", '"url"'),
        ({"address": "http://127.0.0.1:1"}, '"url"'),
        ({"url": 8081}, '"url"'),
        ({"url": "ftp://127.0.0.1:21"}, "http://host:port"),
        ({"url": "http://127.0.0.1:1/path"}, "path"),
        ({"url": "http://admin:hunter2hunter2@127.0.0.1:1"}, "credentials"),
        ({"url": "http://127.0.0.1:1"}, "unknown upstream"),
        (b'{"url": "' + b"x" * 70_000 + b'"}', "too large"),
    ],
)
async def test_a_bad_call_is_a_400_with_a_reason(admin_balancer, client, body, reason) -> None:
    nodes, balancer = await admin_balancer(count=1)
    before = membership(balancer)
    status, answer = await call(client(), balancer, "POST", "/_balancer/upstreams/drain", body)
    assert status == 400 and answer["error"] == "bad_runtime_request"
    assert reason in answer["detail"] and "hunter2" not in answer["detail"]
    assert membership(balancer) == before and nodes[0].seen == []


async def test_sticky_clients_pinned_to_a_draining_node_stay_and_new_clients_avoid_it(admin_balancer, client):
    nodes, balancer = await admin_balancer(routing="sticky")
    pinned = [client() for _ in range(3)]  # round robin places new clients: one on each node
    first = [(await served_by(session, balancer, 1))[0] for session in pinned]
    assert sorted(first) == ["n0", "n1", "n2"]
    drained = nodes[1]
    await call(client(), balancer, "POST", "/_balancer/upstreams/drain", {"url": drained.url})
    for session, node_id in zip(pinned, first, strict=True):
        assert set(await served_by(session, balancer, 3)) == {node_id}  # pinned clients stay, n1's included
    newcomers = [(await served_by(client(), balancer, 1))[0] for _ in range(6)]
    assert "n1" not in newcomers
    assert balancer.upstream(drained.url)["served_draining"] == 3
    async with client().get(balancer.url + "/_balancer/metrics") as response:
        samples = {
            (sample.name, sample.labels.get("upstream"), sample.labels.get("state")): sample.value
            for family in text_string_to_metric_families(await response.text())
            for sample in family.samples
        }
    assert samples[("balancer_upstream_draining_requests_total", drained.url, None)] == 3
    assert samples[("balancer_upstream_state", drained.url, "draining")] == 1
    assert samples[("balancer_upstream_state", drained.url, "ready")] == 0


async def test_hash_drops_a_draining_node_from_the_ring_and_only_its_keys_move(admin_balancer, client) -> None:
    nodes, balancer = await admin_balancer(routing="hash")
    app = client(cookies=False)
    tokens = [f"token-{index}" for index in range(60)]
    before = {token: (await served_by(app, balancer, 1, **{"X-Session-Token": token}))[0] for token in tokens}
    assert set(before.values()) == {"n0", "n1", "n2"}
    await call(client(), balancer, "POST", "/_balancer/upstreams/drain", {"url": nodes[1].url})
    after = {token: (await served_by(app, balancer, 1, **{"X-Session-Token": token}))[0] for token in tokens}
    moved = {token for token in tokens if after[token] != before[token]}
    assert moved == {token for token in tokens if before[token] == "n1"}  # n1's keys, and no other
    assert "n1" not in after.values()


@pytest.mark.parametrize("routing", ["random", "round_robin"])
async def test_a_draining_node_leaves_the_rotation(admin_balancer, client, routing) -> None:
    nodes, balancer = await admin_balancer(routing=routing)
    session = client()
    await call(session, balancer, "POST", "/_balancer/upstreams/drain", {"url": nodes[0].url})
    served = await served_by(session, balancer, 30)
    assert "n0" not in served and set(served) == {"n1", "n2"}


async def test_a_discovered_node_can_be_drained_and_removed(start_nodes, start_balancer, client) -> None:
    from balancer.discovery import DnsTarget

    nodes = await start_nodes(1)
    port = int(nodes[0].url.rsplit(":", 1)[1])
    balancer = await start_balancer([], discover=(DnsTarget("localhost", port),), admin_token=Secret(TOKEN))
    session = client()
    status, body = await call(session, balancer, "POST", "/_balancer/upstreams/drain", {"url": nodes[0].url})
    assert (status, body["state"]) == (200, "draining")
    status, _ = await call(session, balancer, "DELETE", "/_balancer/upstreams", {"url": nodes[0].url})
    assert status == 200
    await balancer.app._discovery.refresh()  # the name still resolves to it: it stays out
    assert nodes[0].url not in [upstream["url"] for upstream in balancer.status()["upstreams"]]


async def test_tokens_never_reach_a_log(admin_balancer, client, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    nodes, balancer = await admin_balancer(access_log=True)
    session = client()
    await call(session, balancer, "POST", "/_balancer/upstreams/drain", {"url": nodes[0].url})
    wrong = {"Authorization": "Bearer a-guessed-token-123456"}
    status, _ = await call(session, balancer, "POST", "/_balancer/upstreams/ready", {"url": nodes[0].url}, **wrong)
    assert status == 401 and balancer.upstream(nodes[0].url)["state"] == "draining"
    assert "POST /_balancer/upstreams/drain" in caplog.text  # the access log saw the calls...
    assert TOKEN not in caplog.text and "a-guessed-token" not in caplog.text  # ...but no token


async def test_an_add_whose_check_takes_long_answers_waiting(admin_balancer, client) -> None:
    nodes, balancer = await admin_balancer(count=1, health_timeout=30.0)
    with socket.socket() as silent:  # accepts connections (the backlog does) and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        status, body = await call(client(), balancer, "POST", "/_balancer/upstreams", {"url": url})
    assert status == 200 and (body["added"], body["check"]) == (True, "pending"), body
    assert body["message"] == "added; waiting for its first health check: GET /_balancer/status shows its state"

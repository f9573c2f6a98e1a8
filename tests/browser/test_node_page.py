"""The node page through a real balancer in real headless Chromium: watch a session hop, stay, or vanish.

Log in on the page, then reload it and read `<main data-node data-session>` each time. The node that took the
login (the X-Node-Id of the form's 303) is the one that created the session; a node that does not find a
session shows "missing" and leaves the browser's cookie as it is, so with memory sessions every load on the login
node shows "found" and every load elsewhere "missing", whatever the order.

What is certain is asserted as certain. The rest rests on random routing over 3 nodes (each load on a given node
with odds 1 in 3), and its odds are these:
- memory + random: no load among FIND_LOADS on the login node, (2/3)^50, about once in 600 million runs; then
  RELOADS reloads all on it, (1/3)^20, about once in 3.5 billion;
- a store every node reads (cookie, redis, replicated) + random: the login's landing and RELOADS reloads all on
  one node, 3 × (1/3)^21, about once in 3.5 billion runs.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from balancer.routing.hash import HashRing, session_key
from loadtest.lab.cluster import ClusterConfig, LocalCluster
from loadtest.lab.processes import wait_until
from loadtest.lab.replication import DEFAULT_REPLICATION, node_stats
from nodes.contract.names import NODE_ID_HEADER, REPLICATED_STORE, SESSION_COOKIE

pytestmark = pytest.mark.timeout(90)
RELOADS = 20
FIND_LOADS = 50  # memory + random: loads (the login's landing included) to find the login node within
# store=replicated (all-sync by default): a write answers once every live peer holds the copy, or once this
# timeout passed (the peer is then left out until it answers again). The default, 0.5 s, can pass on a busy
# 2-core machine; 10 s leaves a browser-speed test no window where a peer misses the login's copy.
EXTRA_ENV = {REPLICATED_STORE: (("SESSION_REPLICATION_TIMEOUT", "10"),)}
assert DEFAULT_REPLICATION == "all-sync"  # the replicated test's reasoning: every node holds every session


@pytest.fixture
def cluster(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LocalCluster]:
    store, routing = request.param
    config = ClusterConfig(nodes=3, routing=routing, store=store, log_dir=tmp_path, extra_env=EXTRA_ENV.get(store, ()))
    with LocalCluster(config) as started:
        if store == REPLICATED_STORE:  # ready is not yet connected: wait until every node copies to both others
            assert wait_until(lambda: peers_all_live(started), 15.0), "the replicated nodes never saw each other"
        yield started


def peers_all_live(cluster: LocalCluster) -> bool:
    stats = [node_stats(member.url, cluster.peer_secret) for member in cluster.nodes]
    return all(s is not None and s.get("peers_live") == len(cluster.nodes) - 1 for s in stats)


def seen(page: Any) -> tuple[str, str]:
    """(node, found|missing) as the page shows them."""
    main = page.locator("main")
    return main.get_attribute("data-node"), main.get_attribute("data-session")


def log_in(page: Any, url: str, user: str = "ada") -> str:
    """Log in through the page's form and land back on the page; the node that took the login."""
    page.goto(url + "/")
    page.fill("input[name=user]", user)
    with page.expect_response(lambda response: response.url.endswith("/page/login")) as login:
        page.click("form[action='/page/login'] button")
    page.wait_for_load_state("load")
    assert login.value.status == 303, login.value.status
    return str(login.value.headers[NODE_ID_HEADER.lower()])


def reload(page: Any, times: int = RELOADS) -> list[tuple[str, str]]:
    """What each of `times` reloads showed."""
    views = []
    for _ in range(times):
        page.reload(wait_until="load")
        views.append(seen(page))
    return views


def log_in_and_reload(page: Any, url: str) -> list[tuple[str, str]]:
    """What the login's landing and RELOADS reloads showed, in order."""
    log_in(page, url)
    return [seen(page), *reload(page)]


def session_cookie(page: Any) -> str:
    [value] = [cookie["value"] for cookie in page.context.cookies() if cookie["name"] == SESSION_COOKIE]
    return str(value)


@pytest.mark.parametrize("cluster", [("memory", "random")], indirect=True)
def test_memory_random_finds_the_session_then_loses_it(cluster: LocalCluster, page: Any) -> None:
    """Found on the login node only: loads until one lands there (the landing itself, 1 in 3), then reloads until
    one does not (odds in the module docstring)."""
    login_node = log_in(page, cluster.url)
    views = [seen(page)]
    while views[-1][1] != "found" and len(views) < FIND_LOADS:
        views.extend(reload(page, 1))
    found_at = len(views) - 1
    views.extend(reload(page))
    assert all((state == "found") == (node == login_node) for node, state in views), (login_node, views)
    assert views[found_at][1] == "found", f"never on the login node {login_node} in {FIND_LOADS} loads: {views}"
    assert "missing" in {state for _, state in views[found_at:]}, views
    assert len({node for node, _ in views}) > 1, views


@pytest.mark.parametrize("cluster", [("memory", "sticky")], indirect=True)
def test_memory_sticky_keeps_the_browser_on_its_node(cluster: LocalCluster, page: Any) -> None:
    views = log_in_and_reload(page, cluster.url)
    assert {state for _, state in views} == {"found"}, views
    assert len({node for node, _ in views}) == 1, views


@pytest.mark.parametrize("cluster", [("memory", "hash")], indirect=True)
def test_memory_hash_keeps_the_browser_on_its_session_ids_node(cluster: LocalCluster, page: Any) -> None:
    """The login carries no session cookie, so it is routed at random; every request after it carries the new
    session's id and goes to the node owning that id on the hash ring. Where that is the login node (about 1 in 3)
    the page is found on every load; where it is not, that node never saw the session: missing on every load.
    Either way, deterministically: one node, the ring's owner, and one state throughout."""
    login_node = log_in(page, cluster.url)
    views = [seen(page), *reload(page)]
    names = {member.url: member.name for member in cluster.nodes}
    owner = names[HashRing(names).lookup(session_key(session_cookie(page)))]
    assert {node for node, _ in views} == {owner}, (owner, views)
    assert {state for _, state in views} == {"found" if owner == login_node else "missing"}, (login_node, views)


@pytest.mark.parametrize(
    "cluster", [("cookie", "random"), ("redis", "random"), (REPLICATED_STORE, "random")], indirect=True
)
def test_a_store_every_node_reads_finds_the_session_on_every_node(cluster: LocalCluster, page: Any) -> None:
    """cookie: the session travels in the browser's cookie, which every node decrypts (one shared key); redis:
    one shared Redis; replicated all-sync: the login's write answers only once both peers hold its copy. Found
    on every load; the node changes (odds in the module docstring)."""
    views = log_in_and_reload(page, cluster.url)
    assert {state for _, state in views} == {"found"}, views
    assert len({node for node, _ in views}) > 1, views
    assert page.locator("#user").inner_text() == "ada"


@pytest.mark.parametrize("cluster", [("memory", "round_robin")], indirect=True)
def test_the_page_says_when_the_browser_sent_a_session_the_node_lacks(cluster: LocalCluster, page: Any) -> None:
    """Round robin over 3 nodes: the login's 303 lands on the next node, which never saw the session. The page
    says so (rather than looking logged out), with the store and routing that make it expected."""
    login_node = log_in(page, cluster.url)
    node, state = seen(page)
    assert node != login_node and state == "missing", (login_node, node)
    note = page.locator("#missing-note")
    assert note.get_attribute("data-expected") == "yes"
    assert note.inner_text().startswith(
        f"Your browser sent a session {node} does not have (memory + round_robin: expected here"
    ), note.inner_text()
    assert (page.locator("#store").inner_text(), page.locator("#routing").inner_text()) == ("memory", "round_robin")

"""The node page through a real balancer in real headless Chromium: watch a session hop, or vanish.

Log in on the page, then reload it 20 times and read `<main data-node data-session>` each time. With memory
sessions and random routing a reload lands on a node that never saw the session (2 in 3 per reload with 3
nodes, so 20 reloads all finding it would happen about once in 3 billion runs); sticky routing keeps a
browser on its node; a shared Redis makes every node find it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from loadtest.lab.cluster import ClusterConfig, LocalCluster

pytestmark = pytest.mark.timeout(90)
RELOADS = 20


@pytest.fixture
def cluster(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LocalCluster]:
    store, routing = request.param
    with LocalCluster(ClusterConfig(nodes=3, routing=routing, store=store, log_dir=tmp_path)) as started:
        yield started


def seen(page: Any) -> tuple[str, str]:
    """(node, found|missing) as the page shows them."""
    main = page.locator("main")
    return main.get_attribute("data-node"), main.get_attribute("data-session")


def log_in_and_reload(page: Any, url: str, user: str = "ada") -> list[tuple[str, str]]:
    """Log in through the page's form, then reload; what each page load showed, the login's landing first."""
    page.goto(url + "/")
    page.fill("input[name=user]", user)
    page.click("form[action='/page/login'] button")
    page.wait_for_load_state("load")
    views = [seen(page)]
    for _ in range(RELOADS):
        page.reload(wait_until="load")
        views.append(seen(page))
    return views


@pytest.mark.parametrize("cluster", [("memory", "random")], indirect=True)
def test_memory_random_loses_the_session_within_a_few_reloads(cluster: LocalCluster, page: Any) -> None:
    views = log_in_and_reload(page, cluster.url)
    assert "missing" in {state for _, state in views}, views
    assert len({node for node, _ in views}) > 1, views


@pytest.mark.parametrize("cluster", [("memory", "sticky")], indirect=True)
def test_memory_sticky_keeps_the_browser_on_its_node(cluster: LocalCluster, page: Any) -> None:
    views = log_in_and_reload(page, cluster.url)
    assert {state for _, state in views} == {"found"}, views
    assert len({node for node, _ in views}) == 1, views


@pytest.mark.parametrize("cluster", [("redis", "random")], indirect=True)
def test_redis_random_finds_the_session_on_every_node(cluster: LocalCluster, page: Any) -> None:
    views = log_in_and_reload(page, cluster.url)
    assert {state for _, state in views} == {"found"}, views
    assert len({node for node, _ in views}) > 1, views
    assert page.locator("#user").inner_text() == "ada"

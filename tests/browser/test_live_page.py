"""The node page's live panel in real headless Chromium through a real balancer: a WebSocket opens on the page's
node (sticky), its ticks show, and its Increment button counts through the store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from loadtest.lab.cluster import ClusterConfig, LocalCluster

pytestmark = pytest.mark.timeout(90)


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[LocalCluster]:
    config = ClusterConfig(nodes=2, routing="sticky", store="memory", log_dir=tmp_path,
                           extra_env=(("NODE_TICK_MS", "100"),))  # fmt: skip
    with LocalCluster(config) as started:
        yield started


def test_the_page_shows_a_websocket_s_ticks_and_counts_through_it(cluster: LocalCluster, page: Any) -> None:
    page.goto(cluster.url + "/")
    page.fill("input[name=user]", "ada")
    page.click("form[action='/page/login'] button")
    page.wait_for_load_state("load")
    node = page.locator("main").get_attribute("data-node")
    live = page.frame_locator("#live-frame").locator("#live")
    live.locator("#incr:enabled").wait_for(timeout=10_000)
    assert live.get_attribute("data-node") == node  # sticky: the WebSocket opened on the page's node
    page.wait_for_function(
        "() => Number(document.getElementById('live-frame').contentDocument.getElementById('live').dataset.ticks) >= 3"
    )
    live.locator("#incr").click()
    page.wait_for_function(
        "() => document.getElementById('live-frame').contentDocument.getElementById('live').dataset.counter === '1'"
    )
    page.reload(wait_until="load")
    assert page.locator("#counter").text_content() == "1"  # the WebSocket's increment was stored

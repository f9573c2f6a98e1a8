"""`sessionlab probe` through a real nginx (`hash $cookie_SL_SESSION consistent`) in front of the lab's nodes, all
started by the test: every session stays on one node until an --event kills one, then the dead node's sessions
re-pin to a survivor, and the event is on the timeline. The nodes share a Redis, so the move costs no session."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from loadtest.bench.servers import Servers, find_tool
from tests.support import sessionlab

pytestmark = pytest.mark.timeout(120)
NGINX = find_tool("nginx")
# Enough sessions that the killed node surely owns some. With 15, one full-suite run saw no re-pin after the kill
# (passing alone, 3 of 3): the likely cause is that node owning none of them, as a node's share of nginx's ring is
# uneven (at a fifth, 0.8 ** 15 = 3.5%; with 40 sessions 0.01%).
USERS = 40


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[Servers]:
    started = Servers(tmp_path / "logs")
    started.log_dir.mkdir()
    try:
        yield started
    finally:
        started.stop_all()


@pytest.mark.skipif(NGINX is None, reason="nginx is not installed")
def test_nginx_hash_keeps_sessions_on_one_node_until_a_kill_repins_them(
    servers: Servers, redis_url: str, tmp_path: Path
) -> None:
    nodes = [servers.node(f"node-{i}", "redis", redis_url) for i in (1, 2, 3)]
    assert NGINX is not None
    front = servers.nginx("nginx", NGINX, "hash", nodes)
    checks = {f"node-{i}": f"{url}/healthz" for i, url in enumerate(nodes, 1)}
    servers.wait_ready({**checks, "nginx": front + "/healthz"})
    command = f"kill -9 {servers.pid('node-1')}"
    out = tmp_path / "out"
    run = sessionlab("probe", "--target", front, "--out", str(out), "--duration", "8s", "--rate", "40",
                     "--users", str(USERS), "--event", f"3s: {command}", timeout=90)  # fmt: skip
    assert run.returncode == 0, run.stderr
    results = json.loads((out / "results.json").read_text())
    assert results["theory"] is None  # not the lab's own balancer: no compare theory
    assert [(e["label"], e["source"], e["exit_status"]) for e in results["events"]] == [(command, "event", 0)]
    rows = results["timeline"]
    # a login carries no session cookie, so nginx hashes it anywhere: a session's first move is at its start ...
    assert sum(row["repins"] for row in rows if row["t"] < 2) <= USERS
    settled = [row for row in rows if row["t"] == 2]  # ... then every session stays on its node ...
    assert settled[0]["session_requests"] > 20 and settled[0]["repins"] == 0
    assert sum(row["repins"] for row in rows if row["t"] >= 3) >= 1  # ... until the kill moves the dead node's ones
    assert results["misses"] == 0  # and the shared store still had them
    assert "node-1" in results["backends"] and len(results["backends"]) == 3
    last = results["timeline"][-1]["backends"]
    assert "node-1" not in last and last  # after the kill only the survivors answer

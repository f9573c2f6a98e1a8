"""The SSE user against a real cluster (nodes, balancer and locust as processes): it reads its stream through the
balancer and sends its increments as POST /counter; with a shared store nothing is missed, lost or counted twice,
and with node memory behind random routing the stream or the increments land where the session is not (misses)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from loadtest.compare.record.longlived import long_lived_fields
from loadtest.lab.cluster import ClusterConfig, LocalCluster
from loadtest.lab.paths import LOCUSTFILE

pytestmark = pytest.mark.timeout(120)
ENV = (("NODE_TICK_MS", "200"),)  # an increment every 3 ticks: a few dozen per user in the run
USERS = 3


def run_sse_users(tmp_path: Path, store: str) -> dict[str, Any]:
    config = ClusterConfig(nodes=2, routing="random", store=store, log_dir=tmp_path / "logs", extra_env=ENV)
    with LocalCluster(config) as cluster:
        stats = tmp_path / "stats.json"
        done = subprocess.run(
            [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "-u", str(USERS), "-r", "3",
             "-t", "5s", "-H", cluster.url, "--only-summary", "--exit-code-on-error", "0", "--stop-timeout", "1",
             "--sessionlab-stats", str(stats), "--sessionlab-long-lived", "0.5", "SSEUser"],
            capture_output=True, text=True, timeout=90, cwd=tmp_path,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-2000:]
    document = json.loads(stats.read_text())
    return long_lived_fields(document["per_second"], float(document["test_start"]))


def test_a_shared_store_serves_every_stream_and_increment(tmp_path: Path) -> None:
    fields = run_sse_users(tmp_path, "redis")
    assert fields["ws_connects_by_kind"] == {"sse": USERS}, fields  # one stream each, never broken
    assert (fields["ws_misses"], fields["ws_connect_failures"], fields["reconnects"]) == (0, 0, 0), fields
    assert (fields["messages_lost"], fields["messages_duplicated"]) == (0, 0), fields
    nodes = {node for row in fields["open_connections"] for node in row["nodes"]}
    assert nodes and all(node.startswith("node-") for node in nodes)


def test_node_memory_behind_random_routing_misses_on_streams_or_increments(tmp_path: Path) -> None:
    fields = run_sse_users(tmp_path, "memory")
    assert fields["ws_misses"] > 0, fields  # a 401 on the stream or on an increment: a new login, a new stream
    assert fields["reconnects"] > 0 and set(fields["ws_closes"]) <= {"401", "increment 401"}, fields
    assert (fields["messages_lost"], fields["messages_duplicated"]) == (0, 0), fields

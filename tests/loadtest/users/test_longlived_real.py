"""The long-lived user against a real cluster (nodes, balancer and locust as processes): the balancer's idle timeout
closes its WebSockets over and over; every reconnect is counted once, timed from the close (so never faster than
the back-off), and nothing is counted lost or twice."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from loadtest.compare.record.longlived import long_lived_fields
from loadtest.lab.cluster import ClusterConfig, LocalCluster
from loadtest.lab.paths import LOCUSTFILE
from loadtest.users.live_judge import BACKOFF_FIRST_S

pytestmark = pytest.mark.timeout(120)
# Ticks every 3 s, tunnels closed after 1 s of silence: each connection lives about a second, then reconnects.
ENV = (("NODE_TICK_MS", "3000"), ("BALANCER_TUNNEL_TIMEOUT", "1"))


def test_reconnects_are_counted_once_and_timed_from_the_close(tmp_path: Path) -> None:
    config = ClusterConfig(nodes=2, routing="random", store="redis", log_dir=tmp_path / "logs", extra_env=ENV)
    with LocalCluster(config) as cluster:
        stats = tmp_path / "stats.json"
        done = subprocess.run(
            [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "-u", "3", "-r", "3", "-t", "7s",
             "-H", cluster.url, "--only-summary", "--exit-code-on-error", "0", "--stop-timeout", "1",
             "--sessionlab-stats", str(stats), "--sessionlab-long-lived", "0.5", "LongLivedUser"],
            capture_output=True, text=True, timeout=90, cwd=tmp_path,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-2000:]
    document = json.loads(stats.read_text())
    fields = long_lived_fields(document["per_second"], float(document["test_start"]))
    assert fields["reconnects"] >= 3, fields
    assert fields["ws_connects"] == fields["reconnects"] + 3  # each user's first connection is no reconnect
    assert fields["reconnect_p50_ms"] >= BACKOFF_FIRST_S * 1000 / 2  # the back-off's least: timed from the close
    assert (fields["messages_lost"], fields["messages_duplicated"], fields["ws_misses"]) == (0, 0, 0)
    assert set(fields["ws_closes"]) == {"reset"}  # the idle timeout closes without a close frame

"""`sessionlab node` as a user starts it: --help lists every variable with its default, a Redis that does not
answer at start-up is one warning line (the node still starts)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from loadtest.lab.launcher import child_env, launch_node
from loadtest.lab.probe import http_status
from loadtest.lab.processes import free_port, wait_until
from nodes.contract.names import NODE_STORES
from nodes.settings import MIN_PEER_SECRET, NodeSettings
from tests.test_compose import names_read_by

pytestmark = pytest.mark.timeout(60)


def test_help_lists_every_variable_the_node_reads_with_its_default() -> None:
    result = subprocess.run([sys.executable, "-m", "nodes", "--help"], capture_output=True, text=True, check=True)
    replicated = {"SESSION_STORE": "replicated", "SESSION_PEER_SECRET": "p" * MIN_PEER_SECRET}
    read = names_read_by(NodeSettings.from_env, {}) | names_read_by(NodeSettings.from_env, replicated)
    listed = {line.split()[0] for line in result.stdout.splitlines() if "(default: " in line}
    assert listed == read
    assert "SESSION_STORE  (default: memory)" in result.stdout and " | ".join(NODE_STORES) in result.stdout
    assert "NODE_PORT  (default: 8081)" in result.stdout


def test_a_redis_that_does_not_answer_at_start_is_one_warning_and_the_node_starts(tmp_path: Path) -> None:
    port, closed = free_port(), free_port()
    env = child_env(SESSION_STORE="redis", REDIS_URL=f"redis://127.0.0.1:{closed}/0", REDIS_TIMEOUT="0.2")
    node = launch_node("node-1", "127.0.0.1", port, tmp_path, env)
    try:
        node.wait_ready(lambda: http_status(f"http://127.0.0.1:{port}/healthz") == 200, timeout=30)
        assert wait_until(lambda: "does not answer now" in node.log_tail(), 10), node.log_tail()
        warnings = [line for line in node.log_tail().splitlines() if " WARNING " in line]
        assert len(warnings) == 1 and f"session store redis at 127.0.0.1:{closed}/0 does not answer now" in warnings[0]
        assert "Connection refused" in warnings[0]
        assert not [line for line in node.log_tail().splitlines() if " ERROR " in line]  # the warning says it all
        assert "Traceback" not in node.log_tail(200)
        assert http_status(f"http://127.0.0.1:{port}/readyz") == 503
    finally:
        node.stop()

"""`sessionlab compare --balancer nginx,haproxy --long-lived ...` for real: WebSocket and SSE users behind each
balancer through a node's SIGKILL, every long-lived measure and the storm recorded per cell; `--rebalance` behind
HAProxy is a cell that says it is not offered, and why."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.loadtest.lab.balancers.clients import installed
from tests.support import results, sessionlab

pytestmark = pytest.mark.timeout(400)
LONG_LIVED = ("ws_connects", "ws_connect_failures", "reconnects", "reconnect_p50_ms", "reconnect_p99_ms", "ws_misses",
              "messages_lost", "messages_duplicated", "open_connections", "storm_reconnects",
              "storm_peak_reconnects_per_s", "storm_others_p99_ms", "others_p99_before_kill_ms")  # fmt: skip


def test_long_lived_users_run_behind_nginx_and_haproxy(tmp_path: Path) -> None:
    for balancer in ("nginx", "haproxy"):
        installed(balancer)
    run = sessionlab("compare", "--balancer", "nginx,haproxy", "--long-lived", "0.5", "--long-lived-kind", "both",
                     "--store", "redis", "--routing", "random", "--scenario", "node-failure", "--users", "8",
                     "--duration", "8", "--revocation-bound", "0", "--out", str(tmp_path / "kill"),
                     timeout=300)  # fmt: skip
    assert run.returncode in (0, 3), run.stderr[-2000:]
    cells = {cell["balancer"]: cell for cell in results(tmp_path / "kill")["cells"]}
    assert set(cells) == {"nginx", "haproxy"}
    for balancer, cell in cells.items():
        missing = [key for key in LONG_LIVED if key not in cell]
        assert not missing, (balancer, missing)
        assert set(cell["ws_connects_by_kind"]) == {"live", "sse"}, (balancer, cell["ws_connects_by_kind"])
        assert cell["ws_connect_failures"] == 0 and cell["ws_misses"] == 0, balancer  # redis: every node sees it
        assert (cell["messages_lost"], cell["messages_duplicated"]) == (0, 0), balancer


def test_rebalance_behind_haproxy_is_not_offered(tmp_path: Path) -> None:
    run = sessionlab("compare", "--balancer", "haproxy", "--long-lived", "0.3", "--rebalance", "0.5", "--store",
                     "redis", "--routing", "random", "--scenario", "scale-out", "--out", str(tmp_path))  # fmt: skip
    assert run.returncode in (0, 3), run.stderr[-2000:]
    [cell] = results(tmp_path)["cells"]
    assert cell["verdict"] == "not offered" and "shutdown sessions server" in cell["not_offered"]
    assert "not offered" in (tmp_path / "report.md").read_text()

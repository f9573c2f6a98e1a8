"""`sessionlab cluster` for real: it serves through the balancer, stops everything on a signal, fails cleanly."""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import urllib.request

import pytest

from loadtest import proctree
from loadtest.processes import wait_until

from .realrun import sessionlab, spawn, stop_tree

pytestmark = pytest.mark.timeout(60)


def read_banner(run: subprocess.Popen) -> str:
    """Lines up to the "Ctrl-C" line (the cluster is ready by then)."""
    assert run.stdout is not None
    lines = []
    for line in run.stdout:
        lines.append(line)
        if line.startswith("Ctrl-C"):
            return "".join(lines)
    raise AssertionError("".join(lines) + (run.stderr.read() if run.stderr else ""))


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_cluster_serves_and_a_signal_stops_every_process(stop_signal: int) -> None:
    with spawn("cluster", "--nodes", "2", "--store", "redis", "--routing", "round_robin", "--port", "0") as run:
        try:
            banner = read_banner(run)
            url = re.search(r"balancer\s+(http://\S+)", banner).group(1)  # type: ignore[union-attr]
            assert f"locust -f loadtest/locustfile.py -H {url}" in banner
            children = proctree.descendants(run.pid)
            assert len(children) == 4  # redis-server, 2 nodes, balancer
            with urllib.request.urlopen(url + "/_balancer/status", timeout=5) as response:  # noqa: S310 - loopback
                status = json.loads(response.read())
            assert status["routing"] == "round_robin" and status["healthy"] == 2
            run.send_signal(stop_signal)
            run.communicate(timeout=20)
        finally:
            stop_tree(run)
    assert run.returncode == 0
    assert wait_until(lambda: not any(proctree.alive(pid) for pid in children), 5.0)


def test_port_in_use_fails_with_one_clear_line_and_nothing_left() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = sessionlab("cluster", "--port", str(port), timeout=30)
    assert done.returncode == 1
    assert f"port {port}" in done.stderr and "in use" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1

"""`sessionlab cluster` for real: it serves through the balancer (also on a Redis Cluster), stops everything on a
signal, fails cleanly."""

from __future__ import annotations

import os
import re
import signal
import socket

import pytest

from loadtest.compare.run.revocation import Client
from loadtest.lab import proctree
from loadtest.lab.probe import request
from loadtest.lab.processes import wait_until
from tests.support import get_json, read_banner, sessionlab, spawn, stop_tree

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(autouse=True)
def logs_in_tmp_path(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The cluster's default log folder (tempfile.mkdtemp) lands in the test's own folder, not in /tmp."""
    monkeypatch.setenv("TMPDIR", str(tmp_path))


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_cluster_serves_and_a_signal_stops_every_process(stop_signal: int) -> None:
    with spawn("cluster", "--nodes", "2", "--store", "redis", "--routing", "round_robin", "--port", "0") as run:
        try:
            banner = read_banner(run)
            url = re.search(r"balancer\s+(http://\S+)", banner).group(1)  # type: ignore[union-attr]
            assert f"locust -f loadtest/locustfile.py -H {url}" in banner
            assert f"open {url}/ in a browser" in banner and "redis + round_robin: reload as often" in banner
            children = proctree.descendants(run.pid)
            assert len(children) == 4  # redis-server, 2 nodes, balancer
            status = get_json(url + "/_balancer/status", timeout=5)
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


def test_redis_cluster_serves_sessions_and_a_signal_stops_its_three_redis_servers() -> None:
    with spawn("cluster", "--redis-cluster", "--nodes", "2", "--routing", "random", "--port", "0") as run:
        try:
            banner = read_banner(run)
            url = re.search(r"balancer\s+(http://\S+)", banner).group(1)  # type: ignore[union-attr]
            assert "redis store" in banner and re.search(r"redis\s+redis\+cluster://127\.0\.0\.1:\d+", banner)
            assert f"locust -f loadtest/locustfile.py -H {url} --master" in banner
            assert "locust -f loadtest/locustfile.py --worker" in banner
            children = proctree.descendants(run.pid)
            redis = [pid for pid in children if "redis-server" in proctree.cmdline(pid)]
            assert len(redis) == 3 and len(children) == 6  # 3 redis-server, 2 nodes, balancer
            browser = Client(url)
            assert browser.call("POST", "/login", {"user": "ann"})[0] == 200
            for _ in range(4):  # random routing: both nodes find the session in the cluster
                status, body = browser.call("GET", "/me")
                assert (status, body.get("user")) == (200, "ann"), body
            run.send_signal(signal.SIGTERM)
            run.communicate(timeout=20)
        finally:
            stop_tree(run)
    assert run.returncode == 0
    assert wait_until(lambda: not any(proctree.alive(pid) for pid in children), 5.0)


def test_redis_cluster_is_a_redis_store() -> None:
    done = sessionlab("cluster", "--redis-cluster", "--store", "memory", timeout=30)
    line = done.stderr.strip().splitlines()[-1]  # argparse's usage, then one line: what is wrong and what fits
    assert done.returncode == 2 and "--redis-cluster" in line and "--store redis" in line


def test_redis_sentinel_prints_the_pids_to_kill_and_a_signal_stops_all_five() -> None:
    with spawn("cluster", "--redis-sentinel", "--nodes", "2", "--routing", "random", "--port", "0") as run:
        try:
            banner = read_banner(run)
            url = re.search(r"balancer\s+(http://\S+)", banner).group(1)  # type: ignore[union-attr]
            assert re.search(r"redis\s+redis\+sentinel://127\.0\.0\.1:\d+,127\.0\.0\.1:\d+,127\.0\.0\.1:\d+/", banner)
            primary = int(re.search(r"kill -9 (\d+)", banner).group(1))  # type: ignore[union-attr]
            children = proctree.descendants(run.pid)
            assert primary in children and len(children) == 8  # primary, replica, 3 Sentinels, 2 nodes, balancer
            browser = Client(url)
            assert browser.call("POST", "/login", {"user": "ann"})[0] == 200
            assert browser.call("GET", "/me")[0] == 200
            run.send_signal(signal.SIGTERM)
            run.communicate(timeout=20)
        finally:
            stop_tree(run)
    assert run.returncode == 0
    assert wait_until(lambda: not any(proctree.alive(pid) for pid in children), 5.0)
    done = sessionlab("cluster", "--redis-sentinel", "--store", "cookie", timeout=30)
    line = done.stderr.strip().splitlines()[-1]
    assert done.returncode == 2 and "--redis-sentinel" in line and "--store redis" in line


def test_cluster_prints_the_runtime_api_and_a_fresh_token_that_drains_a_node() -> None:
    tokens = []
    for _ in range(2):
        with spawn("cluster", "--nodes", "2", "--port", "0") as run:
            try:
                banner = read_banner(run)
                api, token = re.search(r"Runtime API: (\S+)\s+token \(this run only\): (\S+)", banner).groups()  # type: ignore[union-attr]
                node = re.search(r"node-1\s+(http://\S+)", banner).group(1)  # type: ignore[union-attr]
                assert f'curl -s -X POST -H "Authorization: Bearer {token}"' in banner and f"{api}/drain" in banner
                drained = request("POST", api + "/drain", json_body={"url": node},
                                  headers={"Authorization": f"Bearer {token}"})  # fmt: skip
                assert drained.status == 200 and drained.json()["state"] == "draining"
                tokens.append(token)
                run.send_signal(signal.SIGTERM)
                run.communicate(timeout=20)
            finally:
                stop_tree(run)
    assert tokens[0] != tokens[1]


def test_a_killed_node_is_reported_with_its_signal_and_log_path(tmp_path) -> None:  # type: ignore[no-untyped-def]
    logs = tmp_path / "logs"
    with spawn("cluster", "--nodes", "2", "--port", "0", "--logs", str(logs)) as run:
        try:
            banner = read_banner(run)
            pid = int(re.search(r"node-2\s+http://\S+\s+pid (\d+)", banner).group(1))  # type: ignore[union-attr]
            os.kill(pid, signal.SIGKILL)
            assert run.stdout is not None
            line = run.stdout.readline()  # the cluster looks every 0.5 s; the test's timeout bounds the wait
            assert line.strip() == f"sessionlab cluster: node-2 was killed by SIGKILL; log: {logs / 'node-2.log'}"
            run.send_signal(signal.SIGTERM)
            run.communicate(timeout=20)
        finally:
            stop_tree(run)
    assert run.returncode == 0

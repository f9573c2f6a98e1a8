"""The locust runner: never mistakes an earlier run's files for this run's, and runs the users a cell asks for."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from loadtest.compare.run.locustrun import LocustRun
from loadtest.compare.spec import CellSpec
from tests.support import ROOT


def test_files_of_an_earlier_run_are_cleared_before_a_new_one(tmp_path: Path) -> None:
    run = LocustRun(CellSpec("random", "memory", "node-failure", 3, 20, 7.0), "http://127.0.0.1:1", tmp_path / "cell")
    run.folder.mkdir()
    run.stats_path.write_text('{"test_start": 1.0}')  # what made a re-run kill its node "at 1159 s"
    (run.folder / "locust_stats.csv").write_text("old")
    kept = run.folder / "locust.log"
    kept.write_text("log")
    run.clear_previous()
    assert not run.stats_path.exists()
    assert not (run.folder / "locust_stats.csv").exists()
    assert kept.exists()


def test_a_concurrent_cell_runs_only_the_concurrent_users() -> None:
    steady = LocustRun(CellSpec("sticky", "redis", "steady", 3, 20, 7.0), "http://127.0.0.1:1", Path("x"))
    concurrent = LocustRun(CellSpec("sticky", "redis", "concurrent", 3, 20, 7.0, consistency="cas"),
                           "http://127.0.0.1:1", Path("x"))  # fmt: skip
    assert steady.argv()[-2:] == ["BrowserUser", "AppUser"]
    assert concurrent.argv()[-1] == "ConcurrentUser" and "BrowserUser" not in concurrent.argv()


def test_workers_meet_their_master_on_a_free_port_not_locusts_fixed_5557() -> None:
    """Two runs with workers on one machine, or one cell's master still closing as the next starts, collided on
    5557 ("Address already in use"); each run now has a port of its own, the same for master and workers."""
    spec = CellSpec("random", "memory", "steady", 3, 20, 7.0, workers=2)
    argv = LocustRun(spec, "http://127.0.0.1:1", Path("x")).argv()
    bind, connect = argv[argv.index("--master-bind-port") + 1], argv[argv.index("--master-port") + 1]
    assert bind == connect and bind != "5557" and argv[argv.index("--processes") + 1] == "2"
    alone = LocustRun(CellSpec("random", "memory", "steady", 3, 20, 7.0), "http://127.0.0.1:1", Path("x"))
    assert "--master-bind-port" not in alone.argv()


WEIGHT = """
import importlib, sys
sys.argv = ["locust", "-f", "loadtest/locustfile.py"]
import loadtest.locustfile as suite
plain = suite.ConcurrentUser.weight
sys.argv.append("ConcurrentUser")
print(plain, importlib.reload(suite).ConcurrentUser.weight)
"""


def test_concurrent_users_start_only_when_named() -> None:
    """Plain `locust -f loadtest/locustfile.py` (web UI, compose) must not mix bursts into the normal load."""
    # in a subprocess: importing locust patches the process with gevent
    done = subprocess.run([sys.executable, "-c", WEIGHT], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert done.stdout.split() == ["0", "1"], done.stderr

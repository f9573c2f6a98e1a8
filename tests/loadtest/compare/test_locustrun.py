"""The locust runner: never mistakes an earlier run's files for this run's, and runs the users a cell asks for."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from loadtest.compare.cells import CellSpec
from loadtest.compare.locustrun import LocustRun
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

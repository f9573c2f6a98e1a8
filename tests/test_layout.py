"""The tree shows the architecture: the lab in subpackages by job, and nothing outside the tests reads /proc.

A reader finds "what starts Redis" (loadtest/lab) or "where is a scenario defined" (loadtest/compare/scenarios)
from the folder names alone; process facts come from psutil, which also works on macOS.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAB_TOP_LEVEL = {"__init__.py", "cli.py", "locustfile.py"}  # the sessionlab command and the file locust loads
LAB_SUBPACKAGES = {"users", "lab", "compare", "bench", "render", "probe"}


def test_loadtest_is_split_into_subpackages_by_job() -> None:
    modules = {path.name for path in (ROOT / "loadtest").glob("*.py")}
    packages = {path.parent.name for path in (ROOT / "loadtest").glob("*/__init__.py")}
    assert modules == LAB_TOP_LEVEL
    assert packages == LAB_SUBPACKAGES
    assert (ROOT / "loadtest/compare/scenarios/base.py").exists()
    assert (ROOT / "loadtest/lab/redis_server.py").exists()


def test_no_proc_filesystem_parsing_outside_the_tests() -> None:
    readers = [
        str(path.relative_to(ROOT))
        for package in ("nodes", "balancer", "loadtest")
        for path in (ROOT / package).rglob("*.py")
        if re.search(r"[\"\'/]proc/", path.read_text())
    ]
    assert readers == []


COMPARE_JOBS = {"scenarios", "run", "record", "theory", "report", "fidelity"}  # the command's jobs, one folder each
COMPARE_TOP_LEVEL_MOST = 6  # modules beside the subpackages: the command, its options, the matrix, the cell spec


def test_compare_is_shaped_by_job() -> None:
    compare = ROOT / "loadtest/compare"
    packages = {path.parent.name for path in compare.glob("*/__init__.py")}
    assert packages == COMPARE_JOBS
    assert len(list(compare.glob("*.py"))) <= COMPARE_TOP_LEVEL_MOST

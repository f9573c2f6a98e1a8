"""`python -m loadtest.bench.hot_path`: the balancer's data path driven in memory answers every request it sends
(the tool asserts on the answers), in every routing mode. Speed is what it measures; this test never asserts on it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize("mode", ["random", "round_robin", "sticky", "hash"])
def test_the_hot_path_tool_proxies_in_every_mode(mode: str) -> None:
    done = subprocess.run([sys.executable, "-m", "loadtest.bench.hot_path", mode, "50"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"{mode}: ") and "µs per request" in done.stdout


@pytest.mark.parametrize(("args", "said"), [(["nonsense", "50"], "BALANCER_ROUTING"), (["random", "x"], "REQUESTS")])
def test_bad_arguments_are_one_line_and_exit_2(args: list[str], said: str) -> None:
    done = subprocess.run([sys.executable, "-m", "loadtest.bench.hot_path", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 2 and said in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr

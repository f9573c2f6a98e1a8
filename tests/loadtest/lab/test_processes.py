"""Children the lab starts never outlive it, even when the runner itself is SIGKILLed."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from loadtest.lab.processes import wait_until
from loadtest.lab.proctree import alive

PARENT = """
import sys, time
from loadtest.lab.processes import ManagedProcess
child = ManagedProcess("sleeper", [sys.executable, "-c", "import time; time.sleep(60)"]).start()
print(child.pid, flush=True)
time.sleep(60)
"""


@pytest.mark.skipif(sys.platform != "linux", reason="parent-death signal is Linux-only")
def test_a_child_dies_when_its_runner_is_killed() -> None:
    parent = subprocess.Popen([sys.executable, "-c", PARENT], stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    with parent.stdout:
        child = int(parent.stdout.readline())
    try:
        assert alive(child)
        parent.kill()
        parent.wait()
        assert wait_until(lambda: not alive(child), timeout=10), f"child {child} outlived its killed parent"
    finally:
        if alive(child):
            os.kill(child, 9)

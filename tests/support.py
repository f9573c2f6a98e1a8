"""The one support module of the lab and fault tests: `sessionlab` as a subprocess, PIDs that must be gone,
tracebacks in logs, polling in async tests (`eventually`); polling in plain code (`wait_until`), liveness
(`alive`) and loopback probes come from the lab itself."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from loadtest.lab import proctree
from loadtest.lab.probe import get_json, http_status
from loadtest.lab.processes import wait_until
from loadtest.lab.proctree import alive

__all__ = ["alive", "get_json", "http_status", "wait_until"]  # re-exported: one place for tests to look

ROOT = Path(__file__).resolve().parents[1]


async def eventually(
    condition: Callable[[], Awaitable[bool]] | Callable[[], bool], within: float = 5.0, what: str = "condition"
) -> None:
    """Poll `condition` (plain or async) until it holds; fail the test if it still does not after `within` s."""
    deadline = time.monotonic() + within
    while True:
        result = condition()
        if isinstance(result, Awaitable):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} still false after {within} s")
        await asyncio.sleep(0.02)


def sessionlab(*args: str, timeout: float = 120.0, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run `sessionlab ARGS` to its end; on a timeout stop it so that it stops its children too."""
    with spawn(*args, env=env) as run:
        try:
            stdout, stderr = run.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            stop_tree(run)
            raise
    return subprocess.CompletedProcess(run.args, run.returncode, stdout, stderr)


def together(*commands: tuple[str, ...], timeout: float = 120.0) -> list[subprocess.CompletedProcess]:
    """Run several `sessionlab` commands at once, each to its end (independent runs overlap: the suite stays short)."""
    runs = [spawn(*args) for args in commands]
    deadline = time.monotonic() + timeout
    try:
        outputs = [run.communicate(timeout=max(deadline - time.monotonic(), 1.0)) for run in runs]
    finally:
        for run in runs:
            stop_tree(run)
            for stream in (run.stdout, run.stderr):
                if stream is not None:
                    stream.close()
    return [
        subprocess.CompletedProcess(run.args, run.returncode, *output)
        for run, output in zip(runs, outputs, strict=True)
    ]


def spawn(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "loadtest.cli", *args], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, env=env,
    )  # fmt: skip


def stop_tree(run: subprocess.Popen, pids_file: Path | None = None) -> None:
    """A failing test's cleanup: ask a still-running command to stop (it stops its children), then kill by PID
    whatever of ours is left. A bare SIGKILL of the command would orphan the cluster it started."""
    if run.poll() is not None:
        return
    ours = {pid: "child" for pid in proctree.descendants(run.pid)}
    run.send_signal(signal.SIGTERM)
    try:
        run.wait(timeout=20)
    except subprocess.TimeoutExpired:
        run.kill()
        run.wait()
    if pids_file is not None and pids_file.exists():
        ours.update(recorded_pids(pids_file))
    proctree.kill_all(list(living(ours)))


def recorded_pids(pids_file: Path) -> dict[int, str]:
    lines = [line.split() for line in pids_file.read_text().splitlines() if line.strip()]
    return {int(pid): name for name, pid in lines}


def living(pids: dict[int, str]) -> dict[int, str]:
    """The given processes still running, by PID -> command line (checked, in case a PID was reused)."""
    left = {}
    for pid in pids:
        if proctree.alive(pid):
            cmdline = proctree.cmdline(pid)
            if any(word in cmdline for word in ("nodes", "balancer", "locust", "redis-server")):
                left[pid] = cmdline
    return left


def survivors(pids: dict[int, str]) -> list[str]:
    """What survived a run, readable in an assertion message."""
    return [f"{pids[pid]} (pid {pid}): {cmdline}" for pid, cmdline in living(pids).items()]


def results(out: Path) -> dict[str, Any]:
    return json.loads((out / "results.json").read_text())


def log_tracebacks(log_dir: Path) -> dict[str, int]:
    """How many tracebacks each process logged under `log_dir` (a fault must be handled, never crash a handler)."""
    counts = {}
    for log in sorted(log_dir.glob("*.log")):
        text = log.read_text(errors="replace")
        if "Traceback" in text:
            counts[log.name] = text.count("Traceback")
    return counts


def read_banner(run: subprocess.Popen) -> str:
    """Lines up to the "Ctrl-C" line (the cluster is ready by then)."""
    assert run.stdout is not None
    lines = []
    for line in run.stdout:
        lines.append(line)
        if line.startswith("Ctrl-C"):
            return "".join(lines)
    raise AssertionError("".join(lines) + (run.stderr.read() if run.stderr else ""))

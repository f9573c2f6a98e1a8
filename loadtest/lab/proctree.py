"""What the lab asks about processes it started, through psutil: children, liveness, command line, memory, threads.

Used on PIDs this lab started (directly or through locust's --processes workers), so none outlives a run.
"""

from __future__ import annotations

import contextlib

import psutil

GONE = (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied)


def descendants(pid: int) -> list[int]:
    """PIDs of every living process below `pid` (children, grandchildren, ...)."""
    try:
        return [child.pid for child in psutil.Process(pid).children(recursive=True)]
    except GONE:
        return []


def alive(pid: int) -> bool:
    """True when `pid` runs (a zombie, dead but not yet reaped, counts as gone)."""
    try:
        return bool(psutil.Process(pid).status() != psutil.STATUS_ZOMBIE)
    except GONE:
        return False


def cmdline(pid: int) -> str:
    """The command line of `pid`, or "" when it is gone."""
    try:
        return " ".join(psutil.Process(pid).cmdline())
    except GONE:
        return ""


def rss_mb(pid: int) -> float | None:
    """Resident memory of `pid` in MiB, or None when it is gone."""
    try:
        return float(psutil.Process(pid).memory_info().rss) / 2**20
    except GONE:
        return None


def threads(pid: int) -> list[int]:
    """Thread ids of `pid` (for CPU pinning), or [] when it is gone."""
    try:
        return [thread.id for thread in psutil.Process(pid).threads()]
    except GONE:
        return []


def kill_all(pids: list[int]) -> None:
    """SIGKILL each PID still alive (used only on PIDs this lab started, directly or through locust)."""
    for pid in pids:
        with contextlib.suppress(*GONE):
            psutil.Process(pid).kill()

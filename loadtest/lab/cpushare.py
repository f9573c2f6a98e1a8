"""How much of the machine the load generator itself used: psutil CPU times of process groups over a run.

On a 2-core machine the locust processes share the CPU with the nodes, the balancer and Redis, so a rate
the cluster could carry can still be missed because the generator (or the cluster) was starved. A sampler
thread reads each group's cumulative CPU time (user + system) every SAMPLE_S, following the locust
process's children (its `--processes` workers); the last sample before a process ends is kept, so an exited
process still counts.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import psutil

SAMPLE_S = 0.25


def cpu_seconds(pid: int) -> float | None:
    try:
        times = psutil.Process(pid).cpu_times()
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return None
    return float(times.user + times.system)


def with_children(pids: Iterable[int]) -> list[int]:
    """The PIDs and all their live descendants."""
    found: list[int] = []
    for pid in pids:
        found.append(pid)
        try:
            found += [child.pid for child in psutil.Process(pid).children(recursive=True)]
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return found


@dataclass
class CpuMeter:
    """Samples named groups of processes; `groups` maps a group name to a function listing its root PIDs."""

    groups: dict[str, Callable[[], list[int]]]
    _first: dict[int, float] = field(default_factory=dict)
    _last: dict[int, float] = field(default_factory=dict)
    _owner: dict[int, str] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _began: float = 0.0
    _ended: float = 0.0

    def sample(self) -> None:
        for name, roots in self.groups.items():
            for pid in with_children(roots()):
                seconds = cpu_seconds(pid)
                if seconds is None:
                    continue
                self._first.setdefault(pid, 0.0)  # started during the run: all its CPU time is the run's
                self._owner.setdefault(pid, name)
                self._last[pid] = seconds

    def start(self) -> CpuMeter:
        self._began = time.monotonic()
        _machine_busy()  # psutil's machine-wide figure is measured from one call to the next
        for name, roots in self.groups.items():  # processes already running count from now on
            for pid in with_children(roots()):
                seconds = cpu_seconds(pid)
                if seconds is not None:
                    self._first[pid], self._last[pid], self._owner[pid] = seconds, seconds, name
        self._thread = threading.Thread(target=self._run, name="cpu-meter", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(SAMPLE_S):
            self.sample()

    def stop(self) -> dict[str, float]:
        """Stop sampling; the figures of the run (see `figures`)."""
        self.sample()
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
        self._ended = time.monotonic()
        return self.figures()

    def used(self, name: str) -> float:
        return sum(self._last[pid] - self._first.get(pid, 0.0) for pid, owner in self._owner.items() if owner == name)

    def figures(self) -> dict[str, float]:
        """CPU seconds per group, the wall time, and each group's share of the machine (all cores)."""
        wall = max(self._ended - self._began, 1e-9)
        capacity = wall * (psutil.cpu_count() or 1)
        figures: dict[str, float] = {"wall_s": round(wall, 2), "cores": float(psutil.cpu_count() or 1)}
        for name in self.groups:
            figures[f"{name}_cpu_s"] = round(self.used(name), 2)
            figures[f"{name}_cpu_share"] = round(self.used(name) / capacity, 3)
        figures["machine_busy_share"] = round(_machine_busy(), 3)
        figures["load_average"] = round(os.getloadavg()[0], 2)  # runnable processes, 1-minute average
        return figures


def _machine_busy() -> float:
    """The whole machine's CPU use since the previous call (everyone's processes included), 0-1."""
    return float(psutil.cpu_percent(interval=None)) / 100

"""Running the locustfile headless as its own process (locust monkey-patches whatever imports it).

The runner never imports locust: it starts `python -m locust`, learns when the load began from the stats
file the locustfile writes at test start, and reads the final stats file when locust exits.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loadtest.compare.scenarios import scenario_for
from loadtest.compare.spec import CellSpec
from loadtest.lab import proctree
from loadtest.lab.paths import LOCUSTFILE
from loadtest.lab.processes import ManagedProcess, StartupError, free_port, python_module, wait_until

USER_CLASSES = {"browser": "BrowserUser", "app": "AppUser"}
# added beside the others with --long-lived, by --long-lived-kind (loadtest/users/longlived.py, sse.py)
LONG_LIVED_CLASSES = {"ws": ("LongLivedUser",), "sse": ("SSEUser",), "both": ("LongLivedUser", "SSEUser")}
STOP_TIMEOUT = 2.0  # seconds locust gives running tasks at the end


@dataclass
class LocustRun:
    """One headless locust process against `host` (or, with balancer replicas, `url,url,...`: each user takes one in
    turn), writing everything into `folder`."""

    spec: CellSpec
    host: str
    folder: Path
    kinds: tuple[str, ...] = ("browser", "app")
    on_pid: Callable[[str, int], None] = lambda name, pid: None

    def __post_init__(self) -> None:
        # locust runs with `folder` as its working directory: a relative folder would be doubled there
        self.folder = self.folder.resolve()

    @property
    def stats_path(self) -> Path:
        return self.folder / "sessionlab-stats.json"

    def argv(self) -> list[str]:
        spec, hosts = self.spec, self.host.split(",")
        argv = python_module(
            "locust", "-f", str(LOCUSTFILE), "--headless",
            "-u", str(spec.users), "-r", str(max(spec.users, 1)), "-t", f"{spec.duration:g}s",
            "-H", hosts[0], "--only-summary", "--exit-code-on-error", "0", "--stop-timeout", f"{STOP_TIMEOUT:g}",
            "--sessionlab-stats", str(self.stats_path), "--sessionlab-csv", str(self.folder / "locust"),
        )  # fmt: skip
        if len(hosts) > 1:
            argv += ["--sessionlab-hosts", self.host]
        if spec.workers > 0:  # a free master port: locust's fixed 5557 collided with the previous cell's master
            port = str(free_port())  # still closing, or with another run on this machine (seen in the suite)
            argv += ["--processes", str(spec.workers), "--master-bind-port", port, "--master-port", port]
        if spec.arrival_rate > 0:
            argv += ["--sessionlab-arrival-rate", f"{spec.arrival_rate:g}"] + (["--sessionlab-poisson"] * spec.poisson)
        if spec.session.gap_s > 0:
            argv += ["--sessionlab-idle-gap", f"{spec.session.gap_s:g}"]
        if spec.long_lived > 0:
            live = LONG_LIVED_CLASSES[spec.long_lived_kind]
            return [*argv, "--sessionlab-long-lived", f"{spec.long_lived:g}", *self.user_classes(), *live]
        return argv + self.user_classes()

    def user_classes(self) -> list[str]:
        """The locustfile's user classes this cell runs: the scenario's own, else the asked-for kinds."""
        if self.spec.user_classes:
            return list(self.spec.user_classes)
        own = scenario_for(self.spec.scenario).users
        return list(own) if own else [USER_CLASSES[kind] for kind in self.kinds]

    def clear_previous(self) -> None:
        """Remove what an earlier run in the same --out folder left: its stats would pass for this run's."""
        self.folder.mkdir(parents=True, exist_ok=True)
        for stale in (self.stats_path, *self.folder.glob("locust_*.csv")):
            stale.unlink(missing_ok=True)

    def start(self) -> ManagedProcess:
        self.clear_previous()
        # cwd = the cell's folder: no locust.conf or pyproject.toml from elsewhere changes the run
        process = ManagedProcess("locust", self.argv(), log_path=self.folder / "locust.log", cwd=self.folder).start()
        self.on_pid("locust", int(process.pid or 0))
        return process

    def wait_started(self, process: ManagedProcess, timeout: float = 30.0) -> float:
        """The wall-clock time the load began (the locustfile writes it at test start)."""
        found: dict[str, float] = {}

        def started() -> bool:
            if not process.running():
                raise StartupError(f"locust exited with status {process.returncode()}\n{process.log_tail()}")
            start = (self.read_stats() or {}).get("test_start")
            if start:
                found["start"] = float(start)
            return "start" in found

        if not wait_until(started, timeout, interval=0.05):
            raise StartupError(f"locust did not start its test within {timeout:.0f}s\n{process.log_tail()}")
        return found["start"]

    def wait_finished(self, process: ManagedProcess) -> None:
        """Wait for locust's own end (-t plus stop timeout), then stop it and whatever it forked."""
        deadline = self.spec.duration + STOP_TIMEOUT + 30.0
        if not wait_until(lambda: not process.running(), deadline, interval=0.1):
            stop(process)
            raise StartupError(f"locust did not finish within {deadline:.0f}s\n{process.log_tail()}")
        stop(process)

    def read_stats(self) -> dict[str, Any] | None:
        try:
            stats: dict[str, Any] = json.loads(self.stats_path.read_text())
            return stats
        except (OSError, ValueError):
            return None

    def final_stats(self, process: ManagedProcess) -> dict[str, Any]:
        stats = self.read_stats()
        if not stats or not stats.get("final"):
            raise StartupError(f"locust wrote no final stats to {self.stats_path}\n{process.log_tail()}")
        return stats


def stop(process: ManagedProcess) -> None:
    """Stop locust and any worker processes it forked (by their PIDs), whatever state it is in."""
    forked = proctree.descendants(process.pid) if process.pid and process.running() else []
    process.stop(grace=STOP_TIMEOUT + 5.0)
    if forked and not wait_until(lambda: not any(proctree.alive(pid) for pid in forked), 5.0):
        proctree.kill_all(forked)

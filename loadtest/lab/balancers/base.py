"""What every balancer plug-in is: write its config for a routing mode, start, change membership through its own
control plane, reload, restart, stop.

The lab keeps the membership (each node's address and state) here; a config-driven balancer (nginx, Caddy, Apache
members) renders it into its config and reloads, a balancer with a runtime API (ours, HAProxy, Apache's
balancer-manager) calls that API. `state()` answers what the balancer itself reports, or None where it cannot
tell (passive health checks report nothing).
"""

from __future__ import annotations

import os
import shutil
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from loadtest.lab.balancers.mechanisms import Mechanism, mechanism
from loadtest.lab.probe import request
from loadtest.lab.processes import ManagedProcess, wait_until
from nodes.contract.names import NODE_ID_HEADER, ROUTE

READY, DRAINING, DOWN = "ready", "draining", "down"


class ControlPlaneError(RuntimeError):
    """A balancer's control plane refused or failed a change (the message holds its answer, never a secret)."""


PidHook = Callable[[str, int], None]


@dataclass
class Upstream:
    """One node as the balancer knows it: its id, its host:port, and whether the operator drained it."""

    name: str
    address: str
    drained: bool = False


@dataclass
class Front:
    """What a balancer fronts and where: the mode, its port, its folder (config, pid, logs), its members."""

    mode: str
    host: str
    port: int
    folder: Path
    members: list[Upstream] = field(default_factory=list)
    health_interval: float = 0.3  # seconds between active checks where the balancer has them

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"


class Balancer(ABC):
    """One balancer in front of the lab's nodes; subclasses know its binary, its config and its control plane."""

    name: ClassVar[str]
    binaries: ClassVar[tuple[str, ...]]  # names to look for on PATH and in the sbin folders
    install: ClassVar[str]  # the package that installs it
    control_plane: ClassVar[str]  # how membership changes reach it, as the report says
    drain_means: ClassVar[str]  # what "drain" is on this balancer (the closest thing where it has none)

    def __init__(self, front: Front, on_pid: PidHook | None = None) -> None:
        self.front = front
        self.on_pid = on_pid or (lambda name, pid: None)
        self.process: ManagedProcess | None = None
        front.folder.mkdir(parents=True, exist_ok=True)

    # -- what it offers -------------------------------------------------------------------------------------

    @classmethod
    def mechanism(cls, mode: str) -> Mechanism:
        return mechanism(cls.name, mode)

    @classmethod
    def binary(cls) -> str | None:
        """The binary's path, or None when it is not installed."""
        for name in cls.binaries:
            found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/local/sbin:/sbin")
            if found:
                return found
        return None

    @classmethod
    def missing(cls) -> str | None:
        """One line naming the package to install when the binary is not here; None when it is."""
        if not cls.binaries or cls.binary() is not None:
            return None
        return f"{cls.name}: {cls.binaries[0]} not found; install {cls.install}"

    def tags_routes(self) -> bool:
        """Whether the nodes must tag their session references (SESSION_ROUTE_TAG) for this mode."""
        return self.front.mode == ROUTE

    # -- config and life cycle ------------------------------------------------------------------------------

    @abstractmethod
    def config_files(self) -> dict[str, str]:
        """The generated configuration, by file name (written into the front's folder; saved beside the report)."""

    def write_config(self) -> None:
        for name, text in self.config_files().items():
            (self.front.folder / name).write_text(text)

    @abstractmethod
    def argv(self) -> list[str]:
        """The command that runs it in the foreground."""

    def env(self) -> dict[str, str] | None:
        return None

    def prepare(self) -> None:
        """What must exist before the binary starts, besides its config (HAProxy: its socket's folder)."""
        return None

    def start(self) -> ManagedProcess:
        """Write the config and start the binary (readiness: `wait_ready`)."""
        self.write_config()
        self.prepare()
        log = self.front.folder / f"{self.name}.log"
        self.process = ManagedProcess(self.name, self.argv(), env=self.env(), log_path=log, cwd=self.front.folder)
        self.process.start()
        self.on_pid(f"balancer:{self.name}", int(self.process.pid or 0))
        return self.process

    def answers(self) -> bool:
        """A request through it reaches a node."""
        answer = request("GET", self.front.url + "/healthz")
        names = {name.lower() for name in answer.headers}  # HAProxy sends header names in lower case
        return answer.status == 200 and NODE_ID_HEADER.lower() in names

    def wait_ready(self, timeout: float) -> None:
        assert self.process is not None, f"{self.name} was never started"
        self.process.wait_ready(self.answers, timeout)

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()

    def restart(self, timeout: float = 20.0) -> None:
        """Stop the process and start a new one on the same port (the state it held in memory is gone)."""
        self.stop()
        self.start()
        self.wait_ready(timeout)

    @abstractmethod
    def reload(self) -> None:
        """Load the (re-rendered) config without a restart, the way an operator would."""

    # -- membership, through its control plane ---------------------------------------------------------------

    def member(self, name: str) -> Upstream:
        found = next((m for m in self.front.members if m.name == name), None)
        if found is None:
            raise KeyError(f"{name} is not a member of {self.name}")
        return found

    def drain(self, name: str) -> None:
        """No new clients for the node; default: mark it in the config and reload."""
        self.member(name).drained = True
        self.write_config()
        self.reload()

    def undrain(self, name: str) -> None:
        self.member(name).drained = False
        self.write_config()
        self.reload()

    def add(self, name: str, address: str) -> None:
        self.front.members.append(Upstream(name, address))
        self.write_config()
        self.reload()

    def remove(self, name: str) -> None:
        self.front.members = [m for m in self.front.members if m.name != name]
        self.write_config()
        self.reload()

    def stopping(self, name: str) -> None:
        """The node is about to get its SIGTERM: where the control plane can, nothing is sent to it any more, also
        what the balancer pins to a drained node (default: nothing; a stop then relies on the balancer's retries)."""
        return None

    def started(self, name: str) -> None:
        """The stopped node runs again: back to the state the operator left it in (default: nothing to undo)."""
        return None

    def state(self, name: str) -> str | None:
        """What the balancer reports of the node (ready, draining, down; None: not a member, or it cannot tell)."""
        return None

    def sees_health(self) -> bool:
        """Whether `state` reports active health (a node's death shows there)."""
        return False

    def wait_state(self, name: str, state: str | None, timeout: float) -> bool:
        return wait_until(lambda: self.state(name) == state, timeout)


def root() -> bool:
    """Running as root: nginx and Apache then need a worker user of their own."""
    return hasattr(os, "geteuid") and os.geteuid() == 0

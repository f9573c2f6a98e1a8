"""The servers `sessionlab bench` measures, and where they run: nodes, our balancer, and nginx and HAProxy with
configurations equivalent to each routing mode, written to a temp dir (loopback only, their own free ports).

Everything starts unpinned (fast), and once ready every thread of every server is pinned to the server CPU,
while wrk and the probes run on the load CPU: the same placement for every row.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from balancer.data_path import DATA_PATH_ENV
from loadtest.bench.configs import haproxy_config, nginx_config
from loadtest.lab.launcher import child_env, launch, launch_balancer, launch_node
from loadtest.lab.probe import http_status
from loadtest.lab.processes import ManagedProcess, free_port, free_ports
from loadtest.lab.proctree import threads
from loadtest.lab.replication import replication_env
from nodes.contract.names import REPLICATED_STORE

INSTALL_HINTS = {
    "wrk": "Debian/Ubuntu: apt-get install wrk; macOS: brew install wrk",
    "nginx": "Debian/Ubuntu: apt-get install nginx; macOS: brew install nginx",
    "haproxy": "Debian/Ubuntu: apt-get install haproxy; macOS: brew install haproxy",
}
# Fernet key for the cookie-store node: any valid key will do for a benchmark (and it avoids the dev-key warning).
BENCH_FERNET_KEY = "bXjqGK8h0i7JYcYPz3s2f9JjOqQ9v2bqzq1k8v1o4nY="


@dataclass(frozen=True, slots=True)
class Placement:
    """Which CPUs the load generator and the servers use (None: no pinning on this machine)."""

    load: frozenset[int] | None
    servers: frozenset[int] | None
    own: frozenset[int] | None = None  # a server that gets a CPU of its own: a third one, else the load's

    @classmethod
    def detect(cls) -> Placement:
        """One CPU for the load, the next for every server, when the OS lets us pin and there are two."""
        if not hasattr(os, "sched_getaffinity"):
            return cls(None, None)
        cpus = sorted(os.sched_getaffinity(0))
        if len(cpus) < 2:
            return cls(None, None)
        return cls(frozenset(cpus[:1]), frozenset(cpus[1:2]), frozenset(cpus[2:3] or cpus[:1]))

    def describe(self) -> str:
        if self.load is None or self.servers is None:
            return "not pinned (needs Linux and 2 CPUs)"
        own = f", the own-CPU Redis on CPU {_cpus(self.own)}" if self.own is not None else ""
        return f"load generator on CPU {_cpus(self.load)}, servers on CPU {_cpus(self.servers)}{own}"

    def pin_servers(self, pids: Sequence[int]) -> None:
        """Every thread of each process onto the server CPU (threads started later inherit it)."""
        if self.servers is None:
            return
        for pid in pids:
            for thread in threads(pid):
                with contextlib.suppress(ProcessLookupError, PermissionError):  # a thread that just ended
                    os.sched_setaffinity(thread, self.servers)

    def pin_own(self, pids: Sequence[int]) -> None:
        """Every thread of each process onto the CPU of its own (no other server runs there)."""
        if self.own is None:
            return
        for pid in pids:
            for thread in threads(pid):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.sched_setaffinity(thread, self.own)

    def pin_self_to_load(self) -> None:
        """This process (and so wrk and the probes it starts) onto the load CPU."""
        if self.load is not None:
            os.sched_setaffinity(0, self.load)

    @contextlib.contextmanager
    def on_server_cpu(self) -> Iterator[None]:
        """Processes started inside run on the server CPU from their first instruction (they inherit it)."""
        if self.servers is None or self.load is None:
            yield
            return
        os.sched_setaffinity(0, self.servers)
        try:
            yield
        finally:
            os.sched_setaffinity(0, self.load)


def _cpus(cpus: frozenset[int]) -> str:
    return ",".join(str(cpu) for cpu in sorted(cpus))


def find_tool(name: str) -> str | None:
    """A tool on PATH or in the sbin directories that Debian keeps nginx and haproxy in."""
    return shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/local/sbin:/sbin")


@dataclass
class Servers:
    """Every process a bench run started; `stop_all` stops them by PID."""

    log_dir: Path
    processes: list[ManagedProcess] = field(default_factory=list)

    def spawn(self, name: str, argv: list[str], env: Mapping[str, str] | None = None, cwd: Path | None = None) -> None:
        """Start a process (readiness is awaited by `wait_ready`, so that they all start at once)."""
        process = ManagedProcess(name, argv, env=env, log_path=self.log_dir / f"{name}.log", cwd=cwd)
        self.processes.append(process.start())

    def node(
        self,
        name: str,
        store: str,
        redis_url: str | None = None,
        memory_max: int | None = None,
        checkout: Path | None = None,
    ) -> str:
        """A node; `checkout`: run the `nodes` package of another source tree."""
        port = free_port()
        env = child_env(SESSION_STORE=store, SESSION_SECRET=BENCH_FERNET_KEY, NODE_ACCESS_LOG="0",
                        REDIS_URL=redis_url or "", SESSION_MEMORY_MAX=str(memory_max or ""))  # fmt: skip
        if checkout is None:
            self.processes.append(launch_node(name, "127.0.0.1", port, self.log_dir, env))
        else:  # another source tree's nodes package (bench --baseline)
            env = {**env, "NODE_ID": name, "NODE_HOST": "127.0.0.1", "NODE_PORT": str(port)}
            self.processes.append(launch("nodes", name, env, self.log_dir, checkout))
        return f"http://127.0.0.1:{port}"

    def replicated_nodes(self, name: str, mode: str, count: int = 3) -> list[str]:
        """A node under test and `count - 1` peers (SESSION_STORE=replicated in `mode`, e.g. all-sync), each with the
        same peer list and a fresh peer secret; the first URL is the node under test."""
        ports = free_ports(count)
        urls = [f"http://127.0.0.1:{port}" for port in ports]
        settings = replication_env(mode, urls, secrets.token_urlsafe(24))
        for index, port in enumerate(ports):
            env = child_env(settings, SESSION_STORE=REPLICATED_STORE, NODE_ACCESS_LOG="0")
            self.processes.append(launch_node(f"{name}-{index}", "127.0.0.1", port, self.log_dir, env))
        return urls

    def balancer(
        self, name: str, mode: str, upstreams: Sequence[str], checkout: Path | None = None, data_path: str | None = None
    ) -> str:
        """Our balancer in one routing mode; `checkout`: run the `balancer` package of another source tree;
        `data_path`: require its compiled build or its interpreted source (BALANCER_DATA_PATH)."""
        port = free_port()
        env = child_env(BALANCER_UPSTREAMS=",".join(upstreams), BALANCER_ROUTING=mode,
                        BALANCER_ROUTE_SECRET=secrets.token_urlsafe(24), BALANCER_LOG_LEVEL="WARNING")  # fmt: skip
        if data_path is not None:
            env[DATA_PATH_ENV] = data_path
        self.processes.append(launch_balancer(name, "127.0.0.1", port, self.log_dir, env, cwd=checkout))
        return f"http://127.0.0.1:{port}"

    def nginx(self, name: str, binary: str, mode: str, upstreams: Sequence[str]) -> str:
        port = free_port()
        workdir = self.log_dir / name
        workdir.mkdir(parents=True, exist_ok=True)
        config = workdir / "nginx.conf"
        config.write_text(nginx_config(mode, port, upstreams, workdir))
        self.spawn(name, [binary, "-p", str(workdir), "-e", str(workdir / "error.log"), "-c", str(config)])
        return f"http://127.0.0.1:{port}"

    def haproxy(self, name: str, binary: str, mode: str, upstreams: Sequence[str]) -> str:
        port = free_port()
        config = self.log_dir / f"{name}.cfg"
        config.write_text(haproxy_config(mode, port, upstreams))
        self.spawn(name, [binary, "-db", "-f", str(config)])
        return f"http://127.0.0.1:{port}"

    def pid(self, name: str) -> int:
        pid = next(process.pid for process in self.processes if process.name == name)
        assert pid is not None
        return pid

    def pids(self) -> list[int]:
        return [process.pid for process in self.processes if process.pid is not None]

    def wait_ready(self, checks: Mapping[str, str], timeout: float = 30.0) -> None:
        """Wait until each named process answers 200 on its URL (raises StartupError with its log's tail)."""
        by_name = {process.name: process for process in self.processes}
        for name, url in checks.items():
            by_name[name].wait_ready(lambda url=url: http_status(url) == 200, timeout)  # type: ignore[misc]

    def stop_all(self) -> None:
        for process in reversed(self.processes):
            process.stop()

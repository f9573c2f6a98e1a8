"""Child processes the lab starts (nodes, balancer, redis-server, locust): free ports, readiness, clean stops.

Everything here is synchronous and stops processes by the PID it started, never by name, so the cluster
launcher, the matrix runner and the tests share one way of leaving nothing behind.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO


class StartupError(RuntimeError):
    """A component did not become ready; the message says which and why (with its log's tail)."""


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago (the OS picks it; the caller binds it soon after)."""
    return free_ports(1, host)[0]


def free_ports(count: int, host: str = "127.0.0.1", avoid: set[int] | None = None) -> list[int]:
    """`count` distinct free ports, none in `avoid` (held open together while picking, so none comes up twice)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sockets: list[socket.socket] = []
    ports: list[int] = []
    try:
        while len(ports) < count:
            sock = socket.socket(family)
            sockets.append(sock)
            sock.bind((host, 0))
            port = int(sock.getsockname()[1])
            if port not in (avoid or set()):
                ports.append(port)
    finally:
        for sock in sockets:
            sock.close()
    return ports


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    return bind_problem(port, host) is not None


def bind_problem(port: int, host: str = "127.0.0.1") -> str | None:
    """Why host:port cannot be bound right now ("Address already in use", ...), or None when it can."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as error:
            return os.strerror(error.errno) if error.errno else str(error)
        return None


def wait_until(condition: Callable[[], bool], timeout: float, interval: float = 0.05) -> bool:
    """Poll `condition` until it is true or `timeout` seconds have passed; returns its last answer."""
    deadline = time.monotonic() + timeout
    while True:
        if condition():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


class ManagedProcess:
    """One child process with its own log file, stopped by its PID (SIGTERM, then SIGKILL)."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        log_path: Path | None = None,
        cwd: Path | None = None,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.env = dict(os.environ if env is None else env)
        # absolute before the child starts: the child runs in `cwd`, where a relative path means something else
        self.log_path = None if log_path is None else log_path.resolve()
        self.cwd = None if cwd is None else cwd.resolve()
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    def start(self) -> ManagedProcess:
        self._close_log()
        if self.log_path is not None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        output = self._log if self._log is not None else subprocess.DEVNULL
        self._process = subprocess.Popen(  # noqa: S603 - argv built by the lab itself
            self.argv,
            env=self.env,
            cwd=self.cwd,
            stdout=output,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,  # noqa: PLW1509
        )
        return self

    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def returncode(self) -> int | None:
        return None if self._process is None else self._process.poll()

    def wait(self, timeout: float | None = None) -> int:
        assert self._process is not None, f"{self.name} was never started"
        return self._process.wait(timeout)

    def signal(self, signum: int) -> None:
        if self.running():
            assert self._process is not None
            self._process.send_signal(signum)

    def kill(self) -> None:
        """Hard kill (SIGKILL), as a crash would: no clean shutdown."""
        if self.running():
            assert self._process is not None
            self._process.kill()
            self._process.wait()
        self._close_log()

    def stop(self, grace: float = 5.0) -> None:
        """SIGTERM, wait up to `grace` seconds, then SIGKILL; always reaps the child and closes its log."""
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
            try:
                self._process.wait(grace)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._close_log()

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def log_tail(self, lines: int = 20) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def wait_ready(self, ready: Callable[[], bool], timeout: float) -> None:
        """Wait until `ready()` holds; raise StartupError (with the log's tail) if the process dies or times out."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.running():
                raise StartupError(f"{self.name} {self.exit_text()}{self._log_note()}\n{self.log_tail()}")
            if ready():
                return
            time.sleep(0.05)
        raise StartupError(f"{self.name} was not ready after {timeout:.0f}s{self._log_note()}\n{self.log_tail()}")

    def exit_text(self) -> str:
        """How the process ended, for a person: "exited with status 2" or "was killed by SIGKILL"."""
        code = self.returncode()
        if code is None:
            return "is running"
        if code < 0:
            try:
                return f"was killed by {signal.Signals(-code).name}"
            except ValueError:
                return f"was killed by signal {-code}"
        return f"exited with status {code}"

    def _log_note(self) -> str:
        return "" if self.log_path is None else f"; log: {self.log_path}"


def _die_with_parent() -> None:
    """In the child, before exec: ask Linux for SIGTERM when the parent dies, even by SIGKILL, so no child of
    a killed runner lives on."""
    import ctypes

    pr_set_pdeathsig = 1
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def python_module(module: str, *args: str) -> list[str]:
    """argv that runs `python -m module` with this interpreter (works inside any venv)."""
    return [sys.executable, "-m", module, *args]

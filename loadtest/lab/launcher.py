"""The one way the lab starts a node or a balancer process: a clean environment, a log file, the project root.

The local cluster, the bench and the fuzz tests all start theirs here, so a setting means the same everywhere.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from balancer.data_path import DATA_PATH_ENV
from loadtest.lab.processes import ManagedProcess, python_module

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SERVICE_PREFIXES = ("NODE_", "BALANCER_", "SESSION_", "REDIS_")


def child_env(extra: Mapping[str, str] | None = None, **settings: str) -> dict[str, str]:
    """This process's environment for a child node or balancer.

    Every NODE_*, BALANCER_*, SESSION_* and REDIS_* variable of the caller's shell is dropped: a child runs with
    the settings the lab chose and nothing left over (a stray REDIS_URL would point a memory node at someone
    else's Redis, a REDIS_TIMEOUT would change what a Redis-failure cell measures). Everything else (PATH,
    locale, the venv) passes, and so does BALANCER_DATA_PATH: which build of the same code runs, not a setting.
    Then `extra` (a caller's own overrides, e.g. REDIS_TIMEOUT in a fault test), then `settings`; an empty
    setting is left out, so the service's default applies. PYTHONUNBUFFERED=1 keeps logs live.
    """
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(SERVICE_PREFIXES) or key == DATA_PATH_ENV}  # fmt: skip
    env.update(PYTHONUNBUFFERED="1", **dict(extra or {}))
    env.update({key: value for key, value in settings.items() if value})
    return env


def launch(service: str, name: str, env: Mapping[str, str], log_dir: Path, cwd: Path | None = None) -> ManagedProcess:
    """Start `python -m <service>` (nodes or balancer) as `name`, logging to <log_dir>/<name>.log.

    Readiness is the caller's to await, so that many processes can start at once."""
    log = log_dir / f"{name}.log"
    return ManagedProcess(name, python_module(service), env=env, log_path=log, cwd=cwd or PROJECT_ROOT).start()


def launch_node(name: str, host: str, port: int, log_dir: Path, env: Mapping[str, str]) -> ManagedProcess:
    """A node listening on host:port; `env` from `child_env` with its SESSION_* and REDIS_URL settings."""
    return launch("nodes", name, {**env, "NODE_ID": name, "NODE_HOST": host, "NODE_PORT": str(port)}, log_dir)


def launch_balancer(
    name: str, host: str, port: int, log_dir: Path, env: Mapping[str, str], cwd: Path | None = None
) -> ManagedProcess:
    """A balancer listening on host:port; `env` from `child_env` with BALANCER_UPSTREAMS, _ROUTING, ..."""
    return launch("balancer", name, {**env, "BALANCER_HOST": host, "BALANCER_PORT": str(port)}, log_dir, cwd)

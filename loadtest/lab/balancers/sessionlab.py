"""Ours: the Python balancer of `balancer/`, every mode; membership through its runtime API under /_balancer/
(bearer token), active health checks; a reload is a restart (it reads its settings once, at start)."""

from __future__ import annotations

import secrets
from typing import Any

from loadtest.lab.balancers.base import Balancer, ControlPlaneError, Front, PidHook, Upstream
from loadtest.lab.launcher import child_env, launch_balancer
from loadtest.lab.probe import Answer, get_json, request
from loadtest.lab.processes import ManagedProcess
from nodes.contract.names import BALANCER_STATUS_PATH, BALANCER_UPSTREAMS_PATH


class RuntimeApiError(ControlPlaneError):
    """The balancer refused a runtime call (the message holds its answer, never the token)."""


class Sessionlab(Balancer):
    name = "sessionlab"
    binaries = ()
    install = "nothing: it is this project's own `balancer` package"
    control_plane = "its runtime API (POST/DELETE /_balancer/upstreams, .../drain, .../ready); active checks"
    drain_means = "POST /_balancer/upstreams/drain (pinned clients stay, no new ones)"

    def __init__(self, front: Front, on_pid: PidHook | None = None, extra_env: dict[str, str] | None = None) -> None:
        super().__init__(front, on_pid)
        self.admin_token = secrets.token_urlsafe(24)
        self.extra_env = dict(extra_env or {})
        self.health_interval: float | None = None  # None: the balancer's default

    def settings(self) -> dict[str, str]:
        """Its environment: what its config is (saved beside the report as sessionlab.env, token left out)."""
        interval = "" if self.health_interval is None else str(self.health_interval)
        urls = ",".join(f"http://{m.address}" for m in self.front.members)
        return {"BALANCER_UPSTREAMS": urls, "BALANCER_ROUTING": self.front.mode, "BALANCER_HEALTH_INTERVAL": interval}

    def config_files(self) -> dict[str, str]:
        lines = [f"{key}={value}" for key, value in self.settings().items() if value]
        return {"sessionlab.env": "# written by sessionlab: our balancer's settings (plus BALANCER_ADMIN_TOKEN)\n"
                + "\n".join(lines) + "\n"}  # fmt: skip

    def argv(self) -> list[str]:
        return []  # started through the lab's launcher, as every Python service of the lab

    def start(self) -> ManagedProcess:
        self.write_config()
        env = child_env(self.extra_env, BALANCER_ADMIN_TOKEN=self.admin_token, **self.settings())
        self.process = launch_balancer("balancer", self.front.host, self.front.port, self.front.folder, env)
        self.on_pid("balancer", int(self.process.pid or 0))
        return self.process

    def answers(self) -> bool:
        """Every member it started with is healthy (its status says so)."""
        healthy = self.healthy_urls()
        return healthy is not None and all(f"http://{m.address}" in healthy for m in self.front.members)

    def reload(self) -> None:
        """It has no reload (settings are read at start): the closest is a restart."""
        self.restart()

    def status(self) -> dict[str, Any] | None:
        document = get_json(self.front.url + BALANCER_STATUS_PATH)
        return document if isinstance(document, dict) else None

    def healthy_urls(self) -> set[str] | None:
        document = self.status()
        if document is None:
            return None
        return {str(u.get("url", "")).rstrip("/") for u in document.get("upstreams", []) if u.get("healthy")}

    def state(self, name: str) -> str | None:
        url = f"http://{self.member(name).address}" if any(m.name == name for m in self.front.members) else None
        for upstream in (self.status() or {}).get("upstreams", []):
            if url is not None and str(upstream.get("url", "")).rstrip("/") == url:
                return str(upstream.get("state"))
        return None

    def sees_health(self) -> bool:
        return True

    def drain(self, name: str) -> None:
        self.member(name).drained = True
        self._runtime("POST", BALANCER_UPSTREAMS_PATH + "/drain", name)

    def undrain(self, name: str) -> None:
        self.member(name).drained = False
        self._runtime("POST", BALANCER_UPSTREAMS_PATH + "/ready", name)

    def add(self, name: str, address: str) -> None:
        self.front.members.append(Upstream(name, address))
        self._runtime("POST", BALANCER_UPSTREAMS_PATH, name)

    def remove(self, name: str) -> None:
        self._runtime("DELETE", BALANCER_UPSTREAMS_PATH, name)
        self.front.members = [m for m in self.front.members if m.name != name]

    def _runtime(self, method: str, path: str, name: str) -> None:
        answer = self.admin(method, path, {"url": f"http://{self.member(name).address}"})
        if answer.status != 200:
            raise RuntimeApiError(f"{method} {path} for {name} answered {answer.status}: {answer.body[:200]!r}")

    def admin(self, method: str, path: str, body: Any = None) -> Answer:
        """One call to the runtime API, authenticated with the token the lab gave it."""
        headers = {"Authorization": f"Bearer {self.admin_token}"}
        return request(method, self.front.url + path, json_body=body, headers=headers)

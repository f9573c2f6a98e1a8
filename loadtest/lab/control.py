"""The control API scenario events call on a running local cluster: crash, stop and restart members.

Every method acts on processes this lab started, by PID, and waits on conditions (never bare sleeps).
The balancer's runtime API (drain, ready, add, remove upstreams) answers under `/_balancer/` with
`Authorization: Bearer <BALANCER_ADMIN_TOKEN>`; `admin()` is the one place that calls it.
"""

from __future__ import annotations

from typing import Any

from loadtest.lab.cluster import LocalCluster, Member
from loadtest.lab.probe import Answer, request
from loadtest.lab.processes import StartupError, wait_until
from nodes.contract.names import BALANCER_UPSTREAMS_PATH


class RuntimeApiError(RuntimeError):
    """The balancer refused a runtime call (the message holds its answer, never the token)."""


class ClusterControl:
    """Crash, stop and start named members of a `LocalCluster`; remembers which it took down on purpose."""

    def __init__(self, cluster: LocalCluster) -> None:
        self.cluster = cluster
        self.taken_down: set[str] = set()

    def member(self, name: str) -> Member:
        found = next((m for m in self.cluster.nodes if m.name == name), None)
        if found is None:
            raise KeyError(f"no node {name!r} in this cluster: {', '.join(m.name for m in self.cluster.nodes)}")
        return found

    def kill_node(self, name: str) -> None:
        """SIGKILL, as a crash would: no clean shutdown."""
        self.member(name).process.kill()
        self.taken_down.add(name)

    def stop_node(self, name: str, grace: float = 10.0) -> int | None:
        """SIGTERM and wait for the exit (SIGKILL after `grace`); returns the exit status."""
        process = self.member(name).process
        process.stop(grace)
        self.taken_down.add(name)
        return process.returncode()

    def start_node(self, name: str, timeout: float = 20.0) -> None:
        """A new process for a stopped node, on the same address, with the same settings; waits until ready."""
        member = self.member(name)
        if member.process.running():
            raise StartupError(f"{name} is still running (pid {member.process.pid})")
        member.process.start()
        self.cluster.on_pid(name, int(member.process.pid or 0))
        member.process.wait_ready(lambda: self.cluster.node_ready(member), timeout)
        self.taken_down.discard(name)

    def wait_ejected(self, name: str, timeout: float) -> bool:
        """Until the balancer reports the node unhealthy."""
        return self.cluster.wait_ejected(name, timeout)

    def wait_admitted(self, name: str, timeout: float) -> bool:
        """Until the balancer reports the node healthy again."""
        url = self.member(name).url.rstrip("/")
        return wait_until(lambda: url in {u.rstrip("/") for u in self.cluster.healthy_urls() or set()}, timeout)

    def kill_redis(self) -> None:
        """SIGKILL the cluster's own redis-server (the store goes away; nodes answer 503)."""
        self._redis().kill()
        self.taken_down.add("redis")

    def start_redis(self) -> None:
        """Start the cluster's redis-server again on the same port (empty: nothing was persisted)."""
        self._redis().restart()
        self.taken_down.discard("redis")

    # -- the balancer's runtime API: membership changes (rolling deploys, scale-out, scale-in) ----------------

    def drain(self, name: str) -> None:
        """No new clients for the node (sticky keeps its pinned ones, hash and rotation drop it at once)."""
        self._runtime("POST", BALANCER_UPSTREAMS_PATH + "/drain", name)

    def ready(self, name: str) -> None:
        """New clients again."""
        self._runtime("POST", BALANCER_UPSTREAMS_PATH + "/ready", name)

    def add(self, name: str) -> None:
        """Make a running node a member; it takes traffic once the balancer's check passes (see wait_admitted)."""
        self._runtime("POST", BALANCER_UPSTREAMS_PATH, name)

    def remove(self, name: str) -> None:
        """Take the node out of the balancer's membership (requests in flight on it finish)."""
        self._runtime("DELETE", BALANCER_UPSTREAMS_PATH, name)

    def upstream_state(self, name: str) -> str | None:
        """What the balancer's status says of the node: ready, draining, down, or None when not a member."""
        url = self.member(name).url.rstrip("/")
        for upstream in (self.cluster.status() or {}).get("upstreams", []):
            if str(upstream.get("url", "")).rstrip("/") == url:
                return str(upstream.get("state"))
        return None

    def wait_state(self, name: str, state: str | None, timeout: float) -> bool:
        """Until the balancer reports the node in `state` (None: no longer a member)."""
        return wait_until(lambda: self.upstream_state(name) == state, timeout)

    def _runtime(self, method: str, path: str, name: str) -> None:
        answer = self.admin(method, path, {"url": self.member(name).url})
        if answer.status != 200:
            raise RuntimeApiError(f"{method} {path} for {name} answered {answer.status}: {answer.body[:200]!r}")

    def admin(self, method: str, path: str, body: Any = None) -> Answer:
        """One call to the balancer's runtime API, authenticated with the token the cluster gave it."""
        headers = {"Authorization": f"Bearer {self.cluster.admin_token}"}
        return request(method, self.cluster.url + path, json_body=body, headers=headers)

    def _redis(self) -> Any:
        if self.cluster.redis is None:
            raise StartupError("this cluster runs no redis-server of its own")
        return self.cluster.redis

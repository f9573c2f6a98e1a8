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

    def admin(self, method: str, path: str, body: Any = None) -> Answer:
        """One call to the balancer's runtime API, authenticated with the token the cluster gave it."""
        headers = {"Authorization": f"Bearer {self.cluster.admin_token}"}
        return request(method, self.cluster.url + path, json_body=body, headers=headers)

    def _redis(self) -> Any:
        if self.cluster.redis is None:
            raise StartupError("this cluster runs no redis-server of its own")
        return self.cluster.redis

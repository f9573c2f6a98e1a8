"""The control API scenario events call on a running local cluster: crash, stop and restart members.

Every method acts on processes this lab started, by PID, and waits on conditions (never bare sleeps).
Membership changes (drain, ready, add, remove) and reloads go through the balancer plug-in's own control plane
(ours: the runtime API under `/_balancer/`; HAProxy: its stats socket; nginx: a reload; Caddy: its admin API;
Apache: the balancer-manager).
"""

from __future__ import annotations

from typing import Any

from loadtest.lab.balancers.sessionlab import RuntimeApiError, Sessionlab
from loadtest.lab.cluster import LocalCluster, Member
from loadtest.lab.probe import Answer
from loadtest.lab.processes import StartupError, wait_until

__all__ = ["ClusterControl", "RuntimeApiError"]


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
        self.cluster.kill_node(self.cluster.nodes.index(self.member(name)))
        self.taken_down.add(name)

    def stop_node(self, name: str, grace: float = 10.0) -> int | None:
        """SIGTERM and wait for the exit (SIGKILL after `grace`); returns the exit status. Each balancer is told
        first (HAProxy: `state maint` until it holds no connection to the node)."""
        process = self.member(name).process
        for frontend in self.cluster.frontends:
            frontend.stopping(name)
        self.cluster.retire(self.member(name))
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
        for frontend in self.cluster.frontends:
            frontend.started(name)
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

    # -- the balancer's control plane: membership changes (rolling deploys, scale-out, scale-in), reloads -----------

    def drain(self, name: str) -> None:
        """No new clients for the node (sticky keeps its pinned ones, hash and rotation drop it at once)."""
        for frontend in self.cluster.frontends:  # every replica, one after the other, as an operator would
            frontend.drain(name)

    def ready(self, name: str) -> None:
        """New clients again."""
        for frontend in self.cluster.frontends:
            frontend.undrain(name)

    def add(self, name: str) -> None:
        """Make a running node a member; it takes traffic once the balancer's check passes (see wait_admitted)."""
        for frontend in self.cluster.frontends:
            frontend.add(name, self.member(name).url.removeprefix("http://"))

    def remove(self, name: str) -> None:
        """Take the node out of the balancer's membership (requests in flight on it finish)."""
        for frontend in self.cluster.frontends:
            frontend.remove(name)

    def reload_balancer(self) -> None:
        """The balancer re-reads its config, the way an operator reloads it (ours has none: a restart)."""
        for frontend in self.cluster.frontends:
            frontend.reload()
        self._follow_balancer()

    def restart_balancer(self, timeout: float = 20.0) -> None:
        """Stop the balancer and start it again on its port: whatever it held in memory is gone."""
        for frontend in self.cluster.frontends:
            frontend.restart(timeout)
        self._follow_balancer()

    def _follow_balancer(self) -> None:
        """The cluster's balancer members are the processes the plug-ins run now (a restart starts new ones)."""
        for member, frontend in zip(self.cluster.balancer_members(), self.cluster.frontends, strict=False):
            if frontend.process is not None:
                member.process = frontend.process

    def sees_health(self) -> bool:
        """Whether the balancer reports node health (passive health checks report none)."""
        return self.cluster.frontend.sees_health()

    def upstream_state(self, name: str) -> str | None:
        """What the balancer says of the node: ready, draining, down, or None (not a member, or it cannot tell)."""
        frontend = self.cluster.frontend
        if not any(m.name == name for m in frontend.front.members):
            return None
        if not frontend.sees_health():  # the lab's own view: what it configured
            return "draining" if frontend.member(name).drained else "ready"
        return frontend.state(name)

    def wait_state(self, name: str, state: str | None, timeout: float) -> bool:
        """Until the balancer reports the node in `state` (None: no longer a member)."""
        return wait_until(lambda: self.upstream_state(name) == state, timeout)

    def admin(self, method: str, path: str, body: Any = None) -> Answer:
        """One call to our balancer's runtime API, authenticated with the token the cluster gave it."""
        frontend = self.cluster.frontend
        if not isinstance(frontend, Sessionlab):
            raise RuntimeApiError(f"{frontend.name} has no sessionlab runtime API")
        return frontend.admin(method, path, body)

    def _redis(self) -> Any:
        if self.cluster.redis is None:
            raise StartupError("this cluster runs no redis-server of its own")
        return self.cluster.redis

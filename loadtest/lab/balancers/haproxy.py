"""HAProxy: every mode natively; membership through its runtime API on a stats socket (`set server ... state`,
`add server`, `del server`), active `check`s; a reload is SIGUSR2 to the master (master-worker mode), which loses
what the runtime API changed unless the config says it too (the lab re-renders it first, as an operator must)."""

from __future__ import annotations

import secrets
import shutil
import signal
import socket
import tempfile
from pathlib import Path

from loadtest.lab.balancers.base import DOWN, DRAINING, READY, Balancer, ControlPlaneError, Front, PidHook, Upstream
from loadtest.lab.balancers.templates_env import render
from loadtest.lab.processes import wait_until
from nodes.contract.names import STICKY

BACKEND = "nodes"
STOP_QUIET_S = 5.0  # at most this long for HAProxy's connections to a node in maint to end before its SIGTERM
STATES = {"UP": READY, "DRAIN": DRAINING, "DOWN": DOWN, "MAINT": DOWN, "NOLB": DRAINING}


class Refused(ControlPlaneError):
    """HAProxy's runtime API refused a command (its answer is the message)."""


class Haproxy(Balancer):
    name = "haproxy"
    binaries = ("haproxy",)
    install = "the `haproxy` package (Debian/Ubuntu: apt-get install haproxy; macOS: brew install haproxy)"
    control_plane = "the runtime API on a stats socket (set server state, add server, del server); active checks"
    drain_means = (
        "`set server nodes/NODE state drain` (persistent clients stay, no new ones); before the node's "
        "SIGTERM `state maint` (its persistent clients are redispatched) until it holds no connection"
    )

    def __init__(self, front: Front, on_pid: PidHook | None = None) -> None:
        super().__init__(front, on_pid)
        # a socket path has at most 97 bytes in HAProxy: a short folder of its own, not the cell's deep one
        self.socket = Path(tempfile.gettempdir()) / f"sl-haproxy-{secrets.token_hex(6)}" / "admin.sock"

    def config_files(self) -> dict[str, str]:
        front = self.front
        text = render("haproxy.cfg", mode=front.mode, host=front.host, port=front.port, socket=self.socket,
                      members=front.members, interval_ms=round(front.health_interval * 1000))  # fmt: skip
        return {"haproxy.cfg": text}

    def prepare(self) -> None:
        self.socket.parent.mkdir(mode=0o700, exist_ok=True)

    def stop(self) -> None:
        super().stop()
        shutil.rmtree(self.socket.parent, ignore_errors=True)

    def argv(self) -> list[str]:
        return [str(self.binary()), "-W", "-db", "-f", str(self.front.folder / "haproxy.cfg")]

    def reload(self) -> None:
        """SIGUSR2 to the master: a new worker reads the config; returns once the runtime API answers again."""
        assert self.process is not None
        self.write_config()
        before = self._pid_of_worker()
        self.process.signal(signal.SIGUSR2)
        wait_until(lambda: self._pid_of_worker() not in (None, before), 5.0)

    def _pid_of_worker(self) -> str | None:
        try:
            return self.command("show info").partition("\nPid: ")[2].partition("\n")[0] or None
        except OSError:
            return None

    def command(self, line: str) -> str:
        """One runtime API command (one per connection) and its answer."""
        with socket.socket(socket.AF_UNIX) as sock:
            sock.settimeout(3.0)
            sock.connect(str(self.socket))
            sock.sendall(line.encode() + b"\n")
            chunks = []
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks).decode(errors="replace")

    def _must(self, line: str, *fine: str) -> None:
        answer = self.command(line).strip()
        if answer and not any(word in answer for word in fine):
            raise Refused(f"haproxy: {line!r} answered {answer!r}")

    def drain(self, name: str) -> None:
        self.member(name).drained = True
        self._must(f"set server {BACKEND}/{name} state drain")

    def undrain(self, name: str) -> None:
        self.member(name).drained = False
        self._must(f"set server {BACKEND}/{name} state ready")

    def stopping(self, name: str) -> None:
        """`state maint`, then wait until HAProxy holds no connection to the node: a drained server still gets its
        persistent (cookie) clients, and a request connected just as the node's SIGTERM closes its listener is reset
        unanswered: a 502 (`SH` in the log), which `retries` does not cover once the connection was made."""
        if any(m.name == name for m in self.front.members):
            self._must(f"set server {BACKEND}/{name} state maint")
            wait_until(lambda: self._connections(name) == 0, STOP_QUIET_S)

    def started(self, name: str) -> None:
        if any(m.name == name for m in self.front.members):
            self._must(f"set server {BACKEND}/{name} state {'drain' if self.member(name).drained else 'ready'}")

    def _connections(self, name: str) -> int | None:
        """The server's current sessions (`scur` in `show stat`), None when it cannot tell."""
        for fields in self._stat_rows():
            if fields[1] == name:
                return int(fields[4]) if fields[4].isdigit() else None
        return None

    def _stat_rows(self) -> list[list[str]]:
        try:
            lines = self.command("show stat").splitlines()
        except OSError:
            return []
        return [fields for fields in (line.split(",") for line in lines) if len(fields) > 17 and fields[0] == BACKEND]

    def add(self, name: str, address: str) -> None:
        """`add server` through the runtime API; sticky: a re-rendered config and a reload instead, since HAProxy 2.6
        takes no `cookie` on a dynamic server (an added node would get no affinity cookie)."""
        self.front.members.append(Upstream(name, address))
        if self.front.mode == STICKY:
            self.reload()
            return
        interval = round(self.front.health_interval * 1000)
        self._must(f"add server {BACKEND}/{name} {address} check inter {interval} fall 2 rise 1",
                   "New server registered")  # fmt: skip
        self._must(f"enable health {BACKEND}/{name}")
        self._must(f"enable server {BACKEND}/{name}")

    def remove(self, name: str) -> None:
        self.front.members = [m for m in self.front.members if m.name != name]
        self._must(f"set server {BACKEND}/{name} state maint")
        self._must(f"shutdown sessions server {BACKEND}/{name}")
        wait_until(lambda: "deleted" in self.command(f"del server {BACKEND}/{name}").lower(), 5.0)

    def state(self, name: str) -> str | None:
        for fields in self._stat_rows():
            if fields[1] == name:
                return STATES.get(fields[17].split(" ")[0], DOWN)
        return None

    def sees_health(self) -> bool:
        return True

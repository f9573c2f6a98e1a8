"""nginx: round robin, `random`, `hash ... consistent` and a `map` for route; passive health only; every change
is a rewritten config and a reload (SIGHUP to the master, as `nginx -s reload` sends)."""

from __future__ import annotations

import signal

from loadtest.lab.balancers.base import Balancer, root
from loadtest.lab.balancers.templates_env import render
from loadtest.lab.processes import wait_until

RELOAD_TIMEOUT = 5.0
FAIL_TIMEOUT = "2s"  # how long a failed server stays out (passive health: max_fails=1)


class Nginx(Balancer):
    name = "nginx"
    binaries = ("nginx",)
    install = "the `nginx` package (Debian/Ubuntu: apt-get install nginx; macOS: brew install nginx)"
    control_plane = "a rewritten config and a reload (`nginx -s reload`); passive health (max_fails, fail_timeout)"
    drain_means = "no drain in nginx open source: the server is marked `down` in the config and nginx reloads"

    def config_files(self) -> dict[str, str]:
        front = self.front
        text = render("nginx.conf", mode=front.mode, host=front.host, port=front.port, folder=front.folder,
                      members=front.members, fail_timeout=FAIL_TIMEOUT, root=root())  # fmt: skip
        return {"nginx.conf": text}

    def argv(self) -> list[str]:
        folder = self.front.folder
        conf, log = folder / "nginx.conf", folder / "error.log"
        return [str(self.binary()), "-p", str(folder), "-e", str(log), "-c", str(conf)]

    def reload(self) -> None:
        """SIGHUP to the master; returns once it logged that it re-read the config (new workers start then)."""
        assert self.process is not None
        before = self._reloads()
        self.process.signal(signal.SIGHUP)
        wait_until(lambda: self._reloads() > before, RELOAD_TIMEOUT)

    def _reloads(self) -> int:
        log = self.front.folder / "error.log"
        return log.read_text(errors="replace").count("reconfiguring") if log.exists() else 0

"""Apache httpd's mod_proxy_balancer: byrequests, `stickysession` with `route=` per member (sticky: the mod_headers
cookie recipe; route: the nodes' tag in SL_SESSION, as mod_jk and Tomcat's jvmRoute), mod_proxy_hcheck checks.
Drain goes through the balancer-manager (status N: only existing sticky sessions); adding or removing a member
is a rewritten config and a graceful restart (SIGUSR1 to the parent)."""

from __future__ import annotations

import re
import signal

from loadtest.lab.balancers.base import DOWN, DRAINING, READY, Balancer, ControlPlaneError, root
from loadtest.lab.balancers.templates_env import render
from loadtest.lab.probe import request
from loadtest.lab.processes import wait_until

MODULE_DIR = "/usr/lib/apache2/modules"
MODULES = ("mpm_event", "authz_core", "authz_host", "headers", "proxy", "proxy_http", "proxy_balancer",
           "slotmem_shm", "lbmethod_byrequests", "proxy_hcheck", "status")  # fmt: skip
MANAGER = "/balancer-manager"
BALANCER = "balancer://nodes"


class Apache(Balancer):
    name = "apache"
    binaries = ("apache2", "httpd")
    install = "the `apache2` package (Debian/Ubuntu: apt-get install apache2; macOS: brew install httpd)"
    control_plane = "the balancer-manager (drain: status N) and a graceful restart for members; mod_proxy_hcheck"
    drain_means = "the balancer-manager's Drain status (N): existing sticky sessions only"

    def config_files(self) -> dict[str, str]:
        front = self.front
        text = render("apache.conf", mode=front.mode, host=front.host, port=front.port, folder=front.folder,
                      members=front.members, modules=MODULES, module_dir=MODULE_DIR, root=root(),
                      hc_interval=f"{max(round(front.health_interval * 1000), 100)}ms")  # fmt: skip
        return {"apache.conf": text}

    def argv(self) -> list[str]:
        return [str(self.binary()), "-f", str(self.front.folder / "apache.conf"), "-DFOREGROUND"]

    def reload(self) -> None:
        """A graceful restart (SIGUSR1): children finish their requests, new ones read the config."""
        assert self.process is not None
        self.write_config()
        before = self._restarts()
        self.process.signal(signal.SIGUSR1)
        wait_until(lambda: self._restarts() > before, 5.0)

    def _restarts(self) -> int:
        log = self.front.folder / "error.log"
        return log.read_text(errors="replace").count("Graceful restart requested") if log.exists() else 0

    def drain(self, name: str) -> None:
        self.member(name).drained = True
        self._manage(name, w_status_N="1")

    def undrain(self, name: str) -> None:
        self.member(name).drained = False
        self._manage(name, w_status_N="0")

    def _manage(self, name: str, **fields: str) -> None:
        """One balancer-manager form post for the member (with the page's nonce, as a browser sends it)."""
        page = request("GET", self.front.url + MANAGER).body.decode(errors="replace")
        nonce = re.search(r"nonce=([0-9a-f-]{36})", page)
        if nonce is None:
            raise ControlPlaneError("apache: no nonce on the balancer-manager page")
        form = {"b": "nodes", "w": f"http://{self.member(name).address}", "nonce": nonce.group(1), **fields}
        referer = {"Referer": self.front.url + MANAGER}  # it refuses changes from another page (CSRF)
        answer = request("POST", self.front.url + MANAGER, form=form, headers=referer)
        if answer.status != 200:
            raise ControlPlaneError(f"apache: the balancer-manager answered {answer.status}")

    def state(self, name: str) -> str | None:
        page = request("GET", self.front.url + MANAGER).body.decode(errors="replace")
        address = self.member(name).address if any(m.name == name for m in self.front.members) else None
        if address is None:
            return None
        row = re.search(rf"http://{re.escape(address)}</a></td>(.*?)</tr>", page, re.S)
        if row is None:
            return None
        status = re.findall(r"<td>(Init[^<]*)</td>", row.group(1))
        words = status[0].split() if status else []
        if "Err" in words or "Dis" in words or "Stop" in words or "HcFl" in words:
            return DOWN
        return DRAINING if "Drn" in words else READY

    def sees_health(self) -> bool:
        return True

"""Upstream discovery by DNS: a name stands for all its addresses, through the system resolver, re-resolved."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from balancer.discovery import DnsDiscovery, DnsTarget, origin, system_resolve
from balancer.settings import BalancerSettings
from balancer.upstreams import UpstreamRegistry


def test_settings_accept_dns_items_beside_static_urls() -> None:
    settings = BalancerSettings.from_env(
        {"BALANCER_UPSTREAMS": "http://10.0.0.9:8081, dns://node:8081", "BALANCER_DNS_INTERVAL": "5"}
    )
    assert settings.upstreams == ("http://10.0.0.9:8081",)
    assert settings.discover == (DnsTarget("node", 8081),)
    assert settings.dns_interval == 5.0


def test_ipv6_addresses_become_bracketed_origins() -> None:
    assert origin("::1", 8081) == "http://[::1]:8081"
    assert origin("127.0.0.1", 8081) == "http://127.0.0.1:8081"


HOSTS_NAME = "multi.sessionlab.test"

RESOLVE_IN_NAMESPACE = """
import asyncio, json, sys
from balancer.discovery import system_resolve
print(json.dumps(asyncio.run(system_resolve(sys.argv[1], 8081))))
"""


def in_private_hosts(hosts: str, argv: list[str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """Run argv in a mount namespace whose /etc/hosts is `hosts`: the real resolver path, a name of our own."""
    hosts_file = tmp_path / "hosts"
    hosts_file.write_text(hosts)
    script = 'mount --bind "$0" /etc/hosts && exec "$@"'
    return subprocess.run(
        ["unshare", "--mount", "sh", "-c", script, str(hosts_file), *argv], capture_output=True, text=True, timeout=60
    )


def namespaces_available() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "--mount", "true"], capture_output=True, check=False)
    return probe.returncode == 0


needs_namespaces = pytest.mark.skipif(not namespaces_available(), reason="needs `unshare --mount` (root)")


@needs_namespaces
def test_the_system_resolver_gives_every_address_of_a_name(tmp_path: Path) -> None:
    hosts = f"127.0.0.1 {HOSTS_NAME}\n127.0.0.2 {HOSTS_NAME}\n::1 {HOSTS_NAME}\n"
    result = in_private_hosts(hosts, [sys.executable, "-c", RESOLVE_IN_NAMESPACE, HOSTS_NAME], tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == ["http://127.0.0.1:8081", "http://127.0.0.2:8081", "http://[::1]:8081"]


async def test_an_unknown_name_is_an_oserror() -> None:
    with pytest.raises(OSError):
        await system_resolve("no-such-host.invalid", 8081)


async def test_membership_follows_the_answer_and_keeps_state() -> None:
    answers = {"node": ["http://10.1.0.1:8081", "http://10.1.0.2:8081"]}

    async def resolve(name: str, port: int) -> list[str]:  # a scripted answer: the resolver is tested above
        if name not in answers:
            raise socket.gaierror(socket.EAI_NONAME, "unknown")
        return answers[name]

    registry = UpstreamRegistry([])
    discovery = DnsDiscovery(registry, ["http://10.9.9.9:8081"], [DnsTarget("node", 8081)], 1, resolve)
    await discovery.refresh()
    assert [u.url for u in registry.members] == ["http://10.9.9.9:8081", "http://10.1.0.1:8081", "http://10.1.0.2:8081"]
    kept = registry.get("http://10.1.0.2:8081")
    assert kept is not None
    kept.served = 7
    answers["node"] = ["http://10.1.0.2:8081", "http://10.1.0.3:8081"]  # scaled: one replaced
    await discovery.refresh()
    assert [u.url for u in registry.members] == ["http://10.9.9.9:8081", "http://10.1.0.2:8081", "http://10.1.0.3:8081"]
    assert registry.get("http://10.1.0.2:8081") is kept and kept.served == 7
    del answers["node"]  # the resolver fails: keep the last good answer rather than emptying the pool
    await discovery.refresh()
    assert len(registry.members) == 3

"""`sessionlab cluster` passes the session-life settings of the caller's shell (SESSION_PAD_KB, SESSION_TTL, ...,
BALANCER_STICKY_TTL) to every node and our balancer, says so in its banner, and the nodes act on them."""

from __future__ import annotations

import os
import re

from loadtest.lab.cluster_command import session_life_env
from loadtest.lab.probe import request
from nodes.contract.names import AFFINITY_COOKIE
from tests.support import read_banner, spawn, stop_tree


def test_only_the_session_life_settings_the_shell_sets_are_passed_on() -> None:
    shell = {"SESSION_PAD_KB": " 64 ", "SESSION_TTL": "", "REDIS_URL": "redis://elsewhere", "PATH": "/bin"}
    assert session_life_env(shell) == (("SESSION_PAD_KB", "64"),)


def test_a_cookie_cluster_with_a_64_kb_session_refuses_the_login_with_413_and_a_sticky_ttl_sets_max_age() -> None:
    env = {**os.environ, "SESSION_PAD_KB": "64", "SESSION_TTL": "600", "BALANCER_STICKY_TTL": "30"}
    with spawn("cluster", "--nodes", "2", "--store", "cookie", "--routing", "sticky", "--port", "0", env=env) as run:
        try:
            banner = read_banner(run)
            assert "session   SESSION_PAD_KB=64 SESSION_TTL=600 BALANCER_STICKY_TTL=30" in banner
            url = re.search(r"balancer\s+(http://\S+)", banner).group(1)  # type: ignore[union-attr]
            refused = request("POST", url + "/login", json_body={"user": "big"}, timeout=5)
            assert refused.status == 413 and (refused.json() or {}).get("error") == "session too large for a cookie"
            affinity = [c for c in refused.set_cookies if c.startswith(AFFINITY_COOKIE + "=")]
            assert affinity and "max-age=30" in affinity[0].lower()
        finally:
            stop_tree(run)

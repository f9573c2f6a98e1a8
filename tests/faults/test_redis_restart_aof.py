"""Redis SIGKILLed and restarted under load, with persistence (`appendonly yes`, `appendfsync everysec`).

Without persistence (test_redis_outage.py) every user logs in again after the restart. With AOF the sessions
come back from the file: no user is logged out. `everysec` only risks the last second on a machine crash; a
killed process has already handed every acknowledged write to the kernel (Redis writes the AOF before it
replies), so here nothing acknowledged is lost at all: no counter goes back either.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator

import pytest

from loadtest.lab.redis_server import RedisServer
from tests.faults.conftest import ClusterFactory
from tests.faults.load import Load
from tests.support import log_tracebacks

AOF = ("--appendonly", "yes", "--appendfsync", "everysec")
USERS = 12
RECOVERY = 2.0


@pytest.fixture
def aof_redis() -> Iterator[RedisServer]:
    with RedisServer(extra_args=AOF) as server:
        yield server


def test_with_aof_sessions_survive_a_redis_restart(start_cluster: ClusterFactory, aof_redis: RedisServer) -> None:
    cluster = start_cluster(store="redis", routing="random", redis_url=aof_redis.url)
    with Load(cluster.url, users=USERS) as load:
        load.wait_answers(200, since=0.0)
        aof_redis.kill()
        down = time.monotonic()
        load.wait_until(lambda: sum(c.status == 503 for c in list(load.calls)) >= USERS, 10.0, "503s while down")
        aof_redis.start()
        back = time.monotonic()
        load.wait_answers(200, since=back + RECOVERY, timeout=30.0)
    calls = load.calls
    after = [c for c in calls if c.started >= back + RECOVERY]
    print(
        f"\nFAULT redis-restart-aof: requests={len(calls)} statuses={dict(Counter(c.status for c in calls))} "
        f"outage_s={back - down:.2f} relogins={sum(len(v) - 1 for v in load.logins.values())} "
        f"went_back={sum(c.went_back for c in calls)}"
    )
    assert not [c for c in calls if c.status is not None and c.status >= 500 and c.status != 503]
    assert after and all(c.status == 200 for c in after), "service resumed within 2 s, sessions found"
    assert all(len(logins) == 1 for logins in load.logins.values()), "a session was lost across the restart"
    assert not [c for c in calls if c.went_back], "an acknowledged increment was lost"
    assert not log_tracebacks(cluster.config.log_dir)

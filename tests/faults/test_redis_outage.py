"""Redis SIGKILLed and restarted under load: the nodes answer 503 with a JSON body while it is down (never a 500,
never a session granted by mistake) and serve normally within 2 s of its return.

The private redis-server runs with persistence off, so every session made before the outage is gone when it comes
back: each user's first request afterwards is a 401 and the user logs in again. That is the price of a Redis
without persistence (or replicas), not a miss the lab should hide.
"""

from __future__ import annotations

import time
from collections import Counter

from tests.faults.conftest import ClusterFactory
from tests.faults.load import Load
from tests.support import log_tracebacks

USERS = 20
RECOVERY = 2.0
OUTAGE = 1.0  # seconds Redis stays down (at least)
# README: never a hang past REDIS_TIMEOUT (0.5 s; a refused Redis connection fails at once). Margin: 1 s for 20
# users through a balancer on a loaded 2-core machine.
SLOWEST = 0.5 + 1.0
SESSION_PATHS = {"/me", "/counter", "/cart/items"}


def every_user_saw(load: Load, status: int, times: int, since: float) -> bool:
    """Whether every user got `status` at least `times` times since `since`: the fault reached everybody."""
    seen = Counter(c.user for c in list(load.calls) if c.status == status and c.started >= since)
    return len(seen) == load.users and min(seen.values()) >= times


def test_a_redis_outage_gives_503s_then_service_resumes(start_cluster: ClusterFactory) -> None:
    """The store fails closed and heals by itself: clients see 503s that say why, never a 500 or a hang."""
    cluster = start_cluster(store="redis", routing="random")
    redis = cluster.redis
    assert redis is not None
    with Load(cluster.url, users=USERS) as load:
        load.wait_answers(300, since=0.0)
        redis.kill()
        down = time.monotonic()

        def outage_done() -> bool:
            return time.monotonic() >= down + OUTAGE and every_user_saw(load, 503, 5, since=down)

        load.wait_until(outage_done, 20.0, "a long enough outage, seen by every user")
        back_from = time.monotonic()
        redis.start()
        back = time.monotonic()
        load.wait_answers(400, since=back + RECOVERY, timeout=30.0)
    calls = load.calls
    during = [c for c in calls if down <= c.started and c.ended <= back_from]
    after = [c for c in calls if c.started >= back]
    unavailable = [c for c in calls if c.status == 503]
    last_503 = max(c.ended for c in unavailable)
    first_ok = min(c.ended for c in after if c.status == 200 and c.path in SESSION_PATHS)
    print(
        f"\nFAULT redis-outage: requests={len(calls)} during_outage={len(during)} "
        f"statuses_during={dict(Counter(c.status for c in during))} 503s={len(unavailable)} "
        f"500s={sum(c.status == 500 for c in calls)} last_503_s_after_return={max(0.0, last_503 - back):.3f} "
        f"first_session_200_s_after_return={first_ok - back:.3f} "
        f"relogins_after={sum(len(v) - 1 for v in load.logins.values())} "
        f"longest_s={max(c.duration for c in calls):.3f} outage_s={back - down:.2f}"
    )
    assert not [c for c in calls if c.status is not None and c.status >= 500 and c.status != 503]
    assert not [c for c in calls if c.status is None], "every request got an answer"
    assert {c.status for c in during} <= {503}, "while Redis is down every session request fails closed"
    for call in unavailable:
        assert call.body == {"error": "session store unavailable"}
        assert call.headers.get("Retry-After") == "1"
        assert call.node is not None
    assert last_503 <= back + RECOVERY, "service did not resume within 2 s of Redis' return"
    assert first_ok <= back + RECOVERY
    late = [c for c in after if c.started >= back + RECOVERY]
    assert late and all(c.status in (200, 401) for c in late)
    assert not [c for c in calls if c.foreign], "a user saw another user's session"
    # Redis kept nothing: every user's old session is gone, so each one logged in again, once.
    assert all(len(logins) == 2 for logins in load.logins.values()), load.logins
    assert all(c.path == "/login" or c.path in SESSION_PATHS for c in calls)
    assert max(c.duration for c in calls) <= SLOWEST
    assert not log_tracebacks(cluster.config.log_dir)

"""A server-side deny-list for cookie sessions (SESSION_COOKIE_DENYLIST=redis): logout reaches every node.

A cookie session lives in the client, so a logout only clears that client's copy: anyone holding the old value
(another tab, a copied cookie) keeps a valid session until it expires. With a deny-list each cookie session gets an
id and its issue time at creation; a logout writes the id to Redis, a logout-all writes "everything this user was
issued up to now", each for one idle timeout (the longest the cookie could still be accepted). Every request that
brings a cookie checks both keys in one round trip; a revoked cookie is a new session, counted in `denylist_hits`.

The price: the cookie store now needs Redis on every request (a Redis outage is a 503 then, as for the redis store:
refusing to check would let revoked sessions back in), and revocation is only as fast as that check.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from nodes.stores.errors import StoreUnavailable

REVOKED_PREFIX = "sessionlab:revoked:"
REVOKED_USER_PREFIX = "sessionlab:revoked-user:"
SID_KEY = "sid"  # the session-data keys a deny-listed cookie session carries
ISSUED_KEY = "issued_us"


def new_identity() -> dict[str, Any]:
    """What a new cookie session carries so that it can be revoked: a random id and when it was issued."""
    return {SID_KEY: secrets.token_urlsafe(12), ISSUED_KEY: time.time_ns() // 1_000}


class RedisDenylist:
    def __init__(self, client: aioredis.Redis, idle_timeout: int) -> None:
        self.client = client
        self.idle_timeout = idle_timeout

    async def revoked(self, data: dict[str, Any], user: str | None) -> bool:
        """Whether the session `data` (its id, its issue time, its user) was revoked, on any node."""
        sid, issued = data.get(SID_KEY), data.get(ISSUED_KEY)
        if not isinstance(sid, str) or not isinstance(issued, int):
            return False  # made before the deny-list was on: nothing to look up
        keys = [REVOKED_PREFIX + sid, REVOKED_USER_PREFIX + "{" + str(user) + "}"]
        pipe = self.client.pipeline(transaction=False)
        for key in keys:
            pipe.get(key)
        session_revoked, user_cut = await self._call(pipe.execute())
        return session_revoked is not None or (user_cut is not None and issued <= int(user_cut))

    async def revoke(self, sid: str) -> None:
        await self._call(self.client.set(REVOKED_PREFIX + sid, b"1", ex=self.idle_timeout))

    async def revoke_user(self, user: str) -> None:
        """Every cookie session of `user` issued up to now (microseconds: a later login is never caught)."""
        key = REVOKED_USER_PREFIX + "{" + user + "}"
        await self._call(self.client.set(key, str(time.time_ns() // 1_000).encode(), ex=self.idle_timeout))

    async def close(self) -> None:
        await self.client.aclose()

    async def _call(self, command: Any) -> Any:
        try:
            return await command
        except (RedisError, OSError) as exc:
            raise StoreUnavailable(type(exc).__name__) from exc

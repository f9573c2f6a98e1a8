"""Shared sessions in Redis: every node sees every session (the "distributed session").

One round trip per request: GETEX reads the session and slides its TTL at once; SET ... EX writes it.
Connect and read timeouts are short, and any connection or timeout error becomes `StoreUnavailable`
(a 503), so a Redis outage never hangs requests or turns them into 500s; the client reconnects by itself
when Redis is back.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from typing import Self, TypeVar

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from nodes.settings import NodeSettings
from nodes.stores.errors import StoreUnavailable
from nodes.stores.redis_client import connect
from nodes.stores.server_side import ServerSideStore
from nodes.stores.versions import WriteOutcome
from nodes.transport import Transport

log = logging.getLogger("nodes.session")

KEY_PREFIX = "sessionlab:session:"
# Per-user index of session ids, for POST /logout-all. Braces make the user name the Redis Cluster hash tag.
USER_PREFIX = "sessionlab:user:"

# Compare-and-set on the `<version>:<json>` value: 1 stored, 0 someone saved meanwhile, -1 the key is gone.
COMPARE_AND_SET = """
local current = redis.call('GET', KEYS[1])
if not current then return -1 end
if string.match(current, '^(%d+):') ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
return 1
"""
OUTCOMES = {1: WriteOutcome.STORED, 0: WriteOutcome.CONFLICT, -1: WriteOutcome.GONE}
T = TypeVar("T")


def user_key(user: str) -> str:
    return USER_PREFIX + "{" + user + "}"


class RedisStore(ServerSideStore):
    name = "redis"
    revocation_scope = "all"

    def __init__(self, transport: Transport, max_age: int, client: aioredis.Redis, consistency: str = "cas") -> None:
        super().__init__(transport, max_age, consistency)
        self.client = client
        self._compare_and_set = client.register_script(COMPARE_AND_SET)  # EVALSHA, reloaded after a restart
        self._down = False

    @classmethod
    def from_settings(cls, settings: NodeSettings, transport: Transport) -> Self:
        client = connect(settings.redis_url.reveal(), settings.redis_timeout, settings.redis_cluster)
        return cls(transport, settings.max_age, client, settings.consistency)

    async def read(self, session_id: str) -> bytes | None:
        raw = await self._call(self.client.getex(KEY_PREFIX + session_id, ex=self.idle_timeout))
        return raw if raw is None or isinstance(raw, bytes) else raw.encode()  # bytes: decode_responses=False

    async def write(self, session_id: str, payload: bytes, user: str | None = None) -> None:
        if user is None:
            await self._call(self.client.set(KEY_PREFIX + session_id, payload, ex=self.idle_timeout))
            return
        pipe = self.client.pipeline(transaction=False)
        pipe.set(KEY_PREFIX + session_id, payload, ex=self.idle_timeout)
        self._index(pipe, session_id, user)
        await self._call(pipe.execute())

    async def compare_and_set(
        self, session_id: str, expected_version: int, payload: bytes, user: str | None = None
    ) -> WriteOutcome:
        keys = [KEY_PREFIX + session_id]
        args: list[bytes | str | int] = [str(expected_version), payload, self.idle_timeout]
        outcome = OUTCOMES[int(await self._call(self._compare_and_set(keys=keys, args=args)))]
        if outcome is WriteOutcome.STORED and user is not None:
            pipe = self.client.pipeline(transaction=False)
            self._index(pipe, session_id, user)
            await self._call(pipe.execute())
        return outcome

    async def end_user_sessions(self, user: str) -> int:
        members = await self._call(self.client.smembers(user_key(user)))
        if not members:
            return 0
        keys = [KEY_PREFIX + (member.decode() if isinstance(member, bytes) else member) for member in members]
        ended = await self._call(self.client.delete(*keys))  # split per slot by the cluster client
        await self._call(self.client.delete(user_key(user)))
        return int(ended)

    def _index(self, pipe: aioredis.client.Pipeline, session_id: str, user: str | None) -> None:
        """Keep the user's index alive longer than any of its sessions (each lives idle_timeout after a read)."""
        if user is not None:
            pipe.sadd(user_key(user), session_id)
            pipe.expire(user_key(user), 2 * self.idle_timeout)

    async def delete(self, session_id: str) -> None:
        await self._call(self.client.delete(KEY_PREFIX + session_id))

    async def ready(self) -> bool:
        try:
            return bool(await self._call(self.client.ping()))
        except StoreUnavailable:
            return False

    async def close(self) -> None:
        await self.client.aclose()

    async def _call(self, command: Awaitable[T]) -> T:
        try:
            result = await command
        except (RedisError, OSError) as exc:  # connection refused/reset, timeouts, a Redis still loading
            if not self._down:
                log.error("session store unavailable: %s: %s", type(exc).__name__, exc)
                self._down = True
            raise StoreUnavailable(type(exc).__name__) from exc
        if self._down:
            log.warning("session store reachable again")
            self._down = False
        return result

"""Shared sessions in Redis: every node sees every session (the "distributed session").

One round trip per request: GETEX reads the session and slides its TTL at once; SET ... EX writes it.
Connect and read timeouts are short, and any connection or timeout error becomes `StoreUnavailable`
(a 503), so a Redis outage never hangs requests or turns them into 500s; the client reconnects by itself
when Redis is back.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Awaitable
from typing import Any, Self, TypeVar

import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import NoScriptError, OutOfMemoryError, RedisError

from nodes.contract.names import CAS, REDIS
from nodes.settings import NodeSettings
from nodes.stores.autopipeline import AutoPipeline
from nodes.stores.durability import Durability
from nodes.stores.errors import StoreFull, StoreUnavailable
from nodes.stores.redis_client import connect
from nodes.stores.redis_lane import Command
from nodes.stores.redis_touch import read_command, read_reply
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
CAS_SHA = hashlib.sha1(COMPARE_AND_SET.encode()).hexdigest()  # noqa: S324 - Redis names scripts by SHA-1
OUTCOMES = {1: WriteOutcome.STORED, 0: WriteOutcome.CONFLICT, -1: WriteOutcome.GONE}
T = TypeVar("T")


def user_key(user: str) -> str:
    return USER_PREFIX + "{" + user + "}"


class RedisStore(ServerSideStore):
    name = REDIS
    revocation_scope = "all"

    def __init__(
        self,
        transport: Transport,
        max_age: int,
        client: aioredis.Redis,
        consistency: str = CAS,
        durability: Durability | None = None,
    ) -> None:
        super().__init__(transport, max_age, consistency)
        self.client = client
        # A cluster routes each command to its shard by itself; a single Redis (or Sentinel's primary) batches.
        self.batch = None if isinstance(client, RedisCluster) else AutoPipeline(client)
        self.durability = durability or Durability()
        self._down = False
        self.full_since = 0.0  # when a write was last refused for maxmemory (logged once a minute at most)

    @classmethod
    def from_settings(cls, settings: NodeSettings, transport: Transport) -> Self:
        client = connect(settings.redis_url.reveal(), settings.redis_timeout, settings.redis_cluster)
        durability = Durability(settings.redis_wait, settings.redis_wait_timeout)
        return cls(transport, settings.max_age, client, settings.consistency, durability)

    async def read(self, session_id: str) -> bytes | None:
        """One command, refreshing the TTL as SESSION_TOUCH says (`nodes.stores.redis_touch`).

        Awaits the command itself rather than through `_call` (same errors, same 503): two coroutines fewer on
        the path every request with a session takes."""
        key = KEY_PREFIX + session_id
        try:
            reply = await self._send(*read_command(self.life.touch, key, self.idle_timeout))
        except NoScriptError:  # a restarted or new primary: EVAL caches the lazy-touch script again
            command = read_command(self.life.touch, key, self.idle_timeout, script_cached=False)
            reply = await self._call(self._send(*command))
        except (RedisError, OSError) as exc:
            raise self._failure(exc) from exc
        if self._down:
            self._reachable()
        raw, touched = read_reply(self.life.touch, reply)
        self.counters.store_touches += touched
        return raw

    async def write(self, session_id: str, payload: bytes, user: str | None = None) -> None:
        await self._write(
            [("SET", KEY_PREFIX + session_id, payload, "EX", self.idle_timeout), *self._index(session_id, user)]
        )

    async def compare_and_set(
        self, session_id: str, expected_version: int, payload: bytes, user: str | None = None
    ) -> WriteOutcome:
        """The script and the index upkeep go out together: indexing a session that lost the race is harmless."""
        script = (1, KEY_PREFIX + session_id, str(expected_version), payload, self.idle_timeout)
        replies = await self._write([("EVALSHA", CAS_SHA, *script), *self._index(session_id, user)], tolerate=True)
        if isinstance(replies[0], NoScriptError):  # a restarted or new primary: EVAL caches the script again
            replies = await self._write([("EVAL", COMPARE_AND_SET, *script)])
        return OUTCOMES[int(replies[0])]

    def _index(self, session_id: str, user: str | None) -> list[Command]:
        """Keep the user's index alive longer than any of its sessions (each lives idle_timeout after a read)."""
        if user is None:
            return []
        return [("SADD", user_key(user), session_id), ("EXPIRE", user_key(user), 2 * self.idle_timeout)]

    async def _write(self, commands: list[Command], tolerate: bool = False) -> list[Any]:
        """Send a write's commands together; with SESSION_REDIS_WAIT, on one connection followed by WAIT.

        A command's own error fails the write like a lost connection would (a 503), except NOSCRIPT when
        `tolerate`: the caller answers it by sending the script itself.
        """
        sent = self._durable(commands) if self.durability.replicas else self._together(commands)
        return await self._call(_checked(sent, NoScriptError if tolerate else ()))

    async def _together(self, commands: list[Command]) -> list[Any]:
        """A lone command (most saves: the index is refreshed at most every half timeout) skips `gather`'s future."""
        if len(commands) == 1:
            try:
                return [await self._send(*commands[0])]
            except Exception as exc:  # noqa: BLE001 - returned in its place, as gather(return_exceptions=True) does
                return [exc]
        return list(await asyncio.gather(*(self._send(*command) for command in commands), return_exceptions=True))

    async def _durable(self, commands: list[Command]) -> list[Any]:
        """WAIT counts the replicas that acknowledged this connection's writes, so it shares their pipeline."""
        pipe = self.client.pipeline(transaction=False)
        for command in commands:
            pipe.execute_command(*command)
        pipe.execute_command("WAIT", self.durability.replicas, self.durability.timeout_ms)
        *replies, acknowledged = await pipe.execute(raise_on_error=False)
        self.durability.record(acknowledged)
        return list(replies)

    def _send(self, *command: Any) -> Awaitable[Any]:
        return self.client.execute_command(*command) if self.batch is None else self.batch.execute(*command)

    async def end_user_sessions(self, user: str) -> int:
        members = await self._call(self.client.smembers(user_key(user)))
        if not members:
            return 0
        keys = [KEY_PREFIX + (member.decode() if isinstance(member, bytes) else member) for member in members]
        ended = await self._call(self.client.delete(*keys))  # split per slot by the cluster client
        await self._call(self.client.delete(user_key(user)))
        return int(ended)

    async def delete(self, session_id: str) -> None:
        await self._call(self.client.delete(KEY_PREFIX + session_id))

    async def ready(self) -> bool:
        try:
            return bool(await self._call(self.client.ping()))
        except StoreUnavailable:
            return False

    async def start_problem(self) -> str | None:
        """A ping outside `_call`: a Redis that is not up yet is a start-up warning, not an outage to log."""
        try:
            await self.client.ping()
        except (RedisError, OSError) as exc:
            return f"{type(exc).__name__}: {exc}"
        return None

    async def close(self) -> None:
        if self.batch is not None:
            await self.batch.close()
        await self.client.aclose()

    async def _call(self, command: Awaitable[T]) -> T:
        try:
            result = await command
        except (RedisError, OSError) as exc:
            raise self._failure(exc) from exc
        if self._down:
            self._reachable()
        return result

    def _failure(self, exc: RedisError | OSError) -> StoreFull | StoreUnavailable:
        """What a Redis error means for the request (logged once per outage, a full store once a minute)."""
        if isinstance(exc, OutOfMemoryError):  # maxmemory with noeviction: writes are refused, reads still work
            self.full_since = log_store_full(self.full_since)
            return StoreFull(str(exc))
        if not self._down:  # connection refused/reset, timeouts, a Redis still loading
            log.error("session store unavailable: %s: %s", type(exc).__name__, exc)
            self._down = True
        return StoreUnavailable(type(exc).__name__)

    def _reachable(self) -> None:
        log.warning("session store reachable again")
        self._down = False


def log_store_full(last: float) -> float:
    """Log a refused write at most once a minute (a full store refuses every write); when it was last logged."""
    current = time.monotonic()
    if current - last < 60:
        return last
    log.error("session store full: Redis refuses writes (maxmemory reached with noeviction); logins get 503")
    return current


async def _checked(sent: Awaitable[list[Any]], tolerated: type[Exception] | tuple[()]) -> list[Any]:
    """The replies, or the first error among them raised (inside `_call`, so it is logged and becomes a 503)."""
    replies = await sent
    for reply in replies:
        if isinstance(reply, BaseException) and not isinstance(reply, tolerated):
            raise reply
    return replies

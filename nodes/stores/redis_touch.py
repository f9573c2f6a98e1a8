"""How the Redis store reads a session under each touch policy (SESSION_TOUCH), in one command each.

always: GETEX ... EX (the read slides the TTL); on-change: GET (only a save sets the TTL); lazy:<s>: a script that
reads the value and refreshes the TTL only when at least s seconds of it were used up, i.e. at most once every s
seconds per session whichever node reads it (the key's own TTL is the clock). Under maxmemory none of them is
refused: GET, GETEX and PEXPIRE do not allocate.
"""

from __future__ import annotations

import hashlib
from typing import Any

from nodes.contract.names import TOUCH_ALWAYS, TOUCH_ON_CHANGE
from nodes.stores.life import TouchPolicy

LAZY_TOUCH = """
local value = redis.call('GET', KEYS[1])
if not value then return {} end
local left = redis.call('PTTL', KEYS[1])
if left >= 0 and left <= tonumber(ARGV[1]) then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return {value, 1}
end
return {value, 0}
"""
LAZY_TOUCH_SHA = hashlib.sha1(LAZY_TOUCH.encode()).hexdigest()  # noqa: S324 - Redis names scripts by SHA-1


def read_command(touch: TouchPolicy, key: str, idle_timeout: int, *, script_cached: bool = True) -> tuple[Any, ...]:
    """The one command that reads `key` under `touch` (for lazy: EVALSHA, or EVAL when the script is not cached)."""
    if touch.mode == TOUCH_ALWAYS:
        return ("GETEX", key, "EX", idle_timeout)
    if touch.mode == TOUCH_ON_CHANGE:
        return ("GET", key)
    # Refresh when the TTL left is at most the timeout minus the interval (milliseconds, as PTTL answers).
    threshold_ms = max(int((idle_timeout - touch.interval) * 1000), 0)
    script = ("EVALSHA", LAZY_TOUCH_SHA) if script_cached else ("EVAL", LAZY_TOUCH)
    return (*script, 1, key, threshold_ms, idle_timeout * 1000)


def read_reply(touch: TouchPolicy, reply: Any) -> tuple[bytes | None, bool]:
    """The payload and whether this read refreshed the TTL."""
    if touch.mode not in (TOUCH_ALWAYS, TOUCH_ON_CHANGE):
        if not reply:
            return None, False
        value, touched = reply
        return _bytes(value), bool(touched)
    value = _bytes(reply)
    return value, value is not None and touch.mode == TOUCH_ALWAYS


def _bytes(value: Any) -> bytes | None:
    return value if value is None or isinstance(value, bytes) else str(value).encode()  # decode_responses=False

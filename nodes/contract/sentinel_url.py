"""`redis+sentinel://[:password@]host:port[,host:port...]/<master name>[/<db>]`: a Redis found through Sentinel.

The Sentinels are listed, not the primary: they say where the primary is now, before and after a failover.
A password applies to the Redis servers (Sentinels here run without one).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote

from nodes.contract.names import REDIS_SENTINEL_SCHEME

DEFAULT_SENTINEL_PORT = 26379


@dataclass(frozen=True)
class SentinelTarget:
    """Where the Sentinels listen, which master they watch, and how to talk to that master."""

    sentinels: tuple[tuple[str, int], ...]
    master: str
    password: str | None = None
    db: int = 0

    def describe(self) -> str:
        """For logs: no password."""
        hosts = ",".join(f"{host}:{port}" for host, port in self.sentinels)
        return f"sentinel {hosts}/{self.master}/{self.db}"


def is_sentinel_url(url: str) -> bool:
    return url.startswith(REDIS_SENTINEL_SCHEME)


def parse_sentinel_url(url: str) -> SentinelTarget:
    """The target a redis+sentinel URL names; ValueError (with a reason, never the password) when malformed."""
    rest = url.removeprefix(REDIS_SENTINEL_SCHEME)
    authority, _, path = rest.partition("/")
    credentials, _, hosts = authority.rpartition("@")
    master, _, db = path.partition("/")
    if not master:
        raise ValueError("no master name after the Sentinel list")
    if db and not db.isdigit():
        raise ValueError("the database after the master name must be a number")
    password = unquote(credentials.partition(":")[2]) if credentials else None
    sentinels = tuple(_sentinel(item) for item in hosts.split(","))
    return SentinelTarget(sentinels, unquote(master), password or None, int(db or 0))


def _sentinel(item: str) -> tuple[str, int]:
    host, _, port = item.strip().rpartition(":") if ":" in item else (item.strip(), "", str(DEFAULT_SENTINEL_PORT))
    if not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ValueError(f"{item!r} is not a Sentinel host:port")
    return host.strip("[]"), int(port)

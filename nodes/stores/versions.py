"""The compare-and-set protocol: a session remembers the version it was read from; a save names that version.

A store answers a compare-and-set with a `WriteOutcome`. It never retries by itself: on a conflict it raises
`StaleVersion`, and the layer that owns the handlers re-applies the request's changes to a fresh copy.
"""

from __future__ import annotations

import enum
from typing import Any

from aiohttp_session import Session


class WriteOutcome(enum.Enum):
    STORED = "stored"
    CONFLICT = "conflict"  # someone saved since we read: re-read and re-apply
    GONE = "gone"  # expired, logged out or revoked meanwhile: never resurrect it


class VersionedSession(Session):
    """A session that remembers which stored version it was read from, for compare-and-set saves."""

    def __init__(self, identity: str | None, data: dict[str, Any] | None, version: int) -> None:
        super().__init__(identity, data=data, new=identity is None, max_age=None)  # type: ignore[arg-type]
        self.version = version
        self.indexed_at = int(data.get("indexed", 0)) if data else 0  # when the user's index was last refreshed
        self.schema_version = 1  # the stored form it is written in (nodes.stores.schema); set by its store

    @classmethod
    def blank(cls) -> VersionedSession:
        return cls(None, None, 0)

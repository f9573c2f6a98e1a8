"""What a store raises: each error becomes one clear answer at the edge of the node, never a 500."""

from __future__ import annotations

from aiohttp import web


class StoreUnavailable(Exception):
    """The session store cannot be reached now; the request gets a 503 and may be retried."""


class SessionTooLarge(Exception):
    """Saving this session would produce a reference the client cannot keep; the write is refused."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"session would take {size} bytes, over the {limit}-byte limit")
        self.size = size
        self.limit = limit


class SessionGone(Exception):
    """The session ended (expired, logged out, revoked) while this request was changing it: never resurrect it."""


class StaleVersion(Exception):
    """Someone saved this session since this request read it; nothing was written.

    Carries the answer the handler made, so the layer that owns handlers can re-apply the request's changes
    to a fresh copy, save again and re-render that answer.
    """

    def __init__(self, session_id: str, response: web.StreamResponse) -> None:
        super().__init__(f"session changed since it was read ({len(session_id)}-character id)")
        self.session_id = session_id
        self.response = response


class StoreFull(StoreUnavailable):
    """The store refused a write because it is at its memory limit (Redis maxmemory with noeviction): a 503 that says
    so; sessions already stored still read."""

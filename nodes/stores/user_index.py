"""When a save must refresh the user's index (POST /logout-all finds a user's sessions through it).

The index lives twice as long as the idle timeout, so it is refreshed at most every half timeout: often
enough to outlive every session in it, rarely enough to cost nothing on most saves.
"""

from __future__ import annotations

import time

from nodes.stores.versions import VersionedSession


def index_due(session: VersionedSession, idle_timeout: int) -> bool:
    return time.time() - session.indexed_at > idle_timeout / 2


def user_to_index(session: VersionedSession, idle_timeout: int) -> str | None:
    """The user to re-index on this save, if due; marks the session as indexed now."""
    if "user" not in session or not index_due(session, idle_timeout):
        return None
    session.indexed_at = int(time.time())
    return str(session["user"])

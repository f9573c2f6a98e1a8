"""What a user can do with a session, shared by the JSON API (`nodes.api`) and the HTML page (`nodes.page`).

Each action changes the session and returns what an answer needs; loading and saving stay with
aiohttp-session's middleware, and concurrent writes with `nodes.writes`.
"""

from __future__ import annotations

from aiohttp import web
from aiohttp_session import Session, get_session, new_session

from nodes.changes import apply, increment_counter
from nodes.keys import STORE
from nodes.stores.handoff import commit_pending
from nodes.stores.life import LOGIN


async def current_session(request: web.Request) -> Session | None:
    """The caller's session if this node sees it; reading never creates one."""
    session = await get_session(request)
    return None if session.new or "user" not in session else session


async def start_session(request: web.Request, user: str) -> Session:
    """Log `user` in on a brand-new session id; the old session's data dies (fixation protection)."""
    request[LOGIN] = True
    store = request.app[STORE]
    old = await get_session(request)
    await store.discard(request, old)
    session = await new_session(request)
    session.update(user=user, counter=0, cart=[])
    store.life.pad(session)
    return session


def increment(request: web.Request, session: Session) -> None:
    """Add one to the counter (recorded, so a concurrent write merges instead of losing it)."""
    apply(request, session, increment_counter)


async def end_session(request: web.Request) -> bool:
    """Log out: the store deletes the data and the transport clears the reference. Whether there was one."""
    session = await get_session(request)
    found = not session.new
    session.invalidate()
    return found


async def end_every_session(request: web.Request, session: Session) -> int:
    """Log the user out everywhere the store can reach; how many sessions ended (this one at least)."""
    await commit_pending(request)  # writes queued before this one are stored first
    ended = await request.app[STORE].end_user_sessions(session["user"])
    session.invalidate()
    return max(ended, 1)

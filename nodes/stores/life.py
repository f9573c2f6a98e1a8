"""The session's own life, as policies every store applies the same way: touch, save, schema, padding.

- Touch (SESSION_TOUCH): whether a read that finds a session also refreshes its idle timeout. Each store knows how
  long its copy has left (memory and replicated: the entry's expiry; Redis: the key's TTL, inside one script; the
  cookie store: the value's timestamp), so `TouchPolicy.due` decides from that alone: "lazy:<s>" refreshes at most
  once every s seconds per session across every node, with no clock of its own.
- Save (SESSION_SAVE=always): a found session is marked changed as it loads, so aiohttp-session writes it back
  (the cookie store re-issues it) on every answer, as connect-redis's `resave` or a naive filter does.
- Schema (SESSION_SCHEMA, SESSION_COMPAT): `nodes.stores.schema`.
- Padding (SESSION_PAD_KB): filler put into a session at login, so every later read and write carries it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from aiohttp import web
from aiohttp_session import Session

from nodes.contract.names import PAD_KEY, SAVE_ALWAYS, SAVE_ON_CHANGE, TOUCH_ALWAYS, TOUCH_ON_CHANGE
from nodes.settings import NodeSettings
from nodes.stores.schema import SchemaPolicy

# Set on a request that starts a session: a store refusing it refuses a login (counted), and the old session it
# reads only to discard is not counted again as a schema rejection.
LOGIN = web.RequestKey("sessionlab_login", bool)


def is_login(request: web.Request) -> bool:
    return bool(request.get(LOGIN, False))


@dataclass(frozen=True, slots=True)
class TouchPolicy:
    mode: str = TOUCH_ALWAYS  # always | on-change | lazy
    interval: float = 0.0  # lazy: the least time between two refreshes of one session, seconds

    @property
    def slides(self) -> bool:
        """Whether a read can extend a session's life (then its user's index needs upkeep on reads too)."""
        return self.mode != TOUCH_ON_CHANGE

    def due(self, remaining: float, idle_timeout: float) -> bool:
        """Whether a read finding `remaining` seconds of a session's idle timeout left refreshes it now.

        A refresh (a touch or a write) sets the remaining time to the whole timeout, so the time since the last one
        is `idle_timeout - remaining`.
        """
        if self.mode == TOUCH_ALWAYS:
            return True
        if self.mode == TOUCH_ON_CHANGE:
            return False
        return idle_timeout - remaining >= self.interval


@dataclass(frozen=True, slots=True)
class SessionLife:
    """One node's policies for its sessions; the defaults are the stores' behaviour before they existed."""

    touch: TouchPolicy = field(default_factory=TouchPolicy)
    save: str = SAVE_ON_CHANGE
    schema: SchemaPolicy = field(default_factory=SchemaPolicy)
    pad_bytes: int = 0

    @classmethod
    def from_settings(cls, settings: NodeSettings) -> SessionLife:
        return cls(
            touch=TouchPolicy(settings.touch, settings.touch_interval),
            save=settings.save,
            schema=SchemaPolicy(settings.schema, settings.schema_compat),
            pad_bytes=round(settings.pad_kb * 1024),
        )

    def loaded(self, session: Session) -> None:
        """A session the store found: with SESSION_SAVE=always it is written back whatever the request does."""
        if self.save == SAVE_ALWAYS:
            session.changed()

    def pad(self, session: Session) -> None:
        """Put the configured filler into a session being created at login."""
        if self.pad_bytes:
            session[PAD_KEY] = "x" * self.pad_bytes

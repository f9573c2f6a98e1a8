"""Server-side session ids: minted here with 128 random bits, and only well-formed ones are looked up."""

from __future__ import annotations

import logging
import re
import secrets

from aiohttp import web

from nodes.transport import Transport

log = logging.getLogger("nodes.session")

# 128 random bits, url-safe base64 without padding: 22 characters.
SESSION_ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{22}")


def new_session_id() -> str:
    return secrets.token_urlsafe(16)


def session_id_from(transport: Transport, request: web.Request) -> str | None:
    """A well-formed server-side session id from the client, or None (garbage is logged, never trusted)."""
    value = transport.read(request)
    if value is None:
        return None
    if SESSION_ID_PATTERN.fullmatch(value) is None:
        log.warning("ignoring a malformed session reference (%d characters)", len(value))
        return None
    return value

"""The stored form of a session (the same JSON aiohttp-session writes), and the versioned form cas compares."""

from __future__ import annotations

import json
from typing import Any

from aiohttp_session import Session

from nodes.stores.schema import stored_as


def stored_form(session: Session) -> dict[str, Any]:
    """What is stored of a session: its creation time, when its user was last indexed, and its data."""
    return {"created": session.created, "indexed": getattr(session, "indexed_at", 0), "session": dict(session)}


def encode(session: Session) -> bytes:
    """A session's stored form as compact JSON, in the schema its store writes (`nodes.stores.schema`)."""
    form = stored_as(stored_form(session), getattr(session, "schema_version", 1))
    return json.dumps(form, separators=(",", ":")).encode()


def decode(raw: bytes | str) -> dict[str, Any] | None:
    """The stored mapping, or None when `raw` is not a session (never an exception: clients send garbage)."""
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get("session"), dict) else None


def encode_versioned(version: int, session: Session) -> bytes:
    """`<version>:<json>`: the version leads, so a compare-and-set reads it without parsing the JSON."""
    return b"%d:%s" % (version, encode(session))


def decode_versioned(raw: bytes | None) -> tuple[int, dict[str, Any]] | None:
    if raw is None:
        return None
    version, _, body = raw.partition(b":")
    data = decode(body)
    if data is None or not version.isdigit():
        return None
    return int(version), data


def stored_version(raw: bytes) -> int:
    return int(raw.partition(b":")[0])


def empty_session() -> Session:
    """A new session; `max_age=None` because each store enforces the idle timeout itself."""
    return Session(None, data=None, new=True, max_age=None)

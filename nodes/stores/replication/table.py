"""A node's copy of the replicated sessions: versioned entries with an absolute expiry, an LRU cap, tombstones.

Like the memory store, entries are serialized copies (`<version>:<json>`). Unlike it, each entry carries its
expiry as wall-clock seconds (`time.time()`), because that time travels with every replicated write and each
node expires the copy by its own clock. A copy from a peer replaces the local one only if its version is newer,
so repeated, reordered or replayed messages cannot move a session backwards. Deleted ids leave a tombstone
until the session would have expired, so a late copy of a logged-out session never brings it back.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass

STORED, CONFLICT, GONE = "stored", "conflict", "gone"


@dataclass(slots=True)
class Entry:
    """One session copy: its stored form, the version it carries, when it expires (epoch seconds), its user, and the
    membership view in which this node last knew it to be an owner's current copy (-1: never; see Replicator)."""

    payload: bytes
    version: int
    expires_at: float
    user: str | None
    confirmed_in: int = -1


def version_of(payload: bytes) -> int | None:
    """The version prefix of a `<version>:<json>` payload, or None when it is not one."""
    head = payload.partition(b":")[0]
    return int(head) if head.isdigit() and len(head) < 19 else None


class ReplicaTable:
    """The sessions this node holds, whoever wrote them; every method runs without awaiting (atomic per node)."""

    def __init__(self, idle_timeout: int, max_entries: int) -> None:
        self.idle_timeout = idle_timeout
        self.max_entries = max_entries
        self._entries: OrderedDict[str, Entry] = OrderedDict()  # least recently used first
        self._by_user: dict[str, tuple[str, ...]] = {}
        self._tombstones: OrderedDict[str, float] = OrderedDict()  # id -> until when it stays dead

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, session_id: object) -> bool:
        return session_id in self._entries

    def get(self, session_id: str, slide: bool = True) -> Entry | None:
        """The live entry, its idle timeout slid on this node when `slide` (replicated with the next write)."""
        entry = self._entries.get(session_id)
        if entry is None:
            return None
        current = time.time()
        if entry.expires_at <= current:
            del self._entries[session_id]
            return None
        if slide:
            entry.expires_at = max(entry.expires_at, current + self.idle_timeout)
            self._entries.move_to_end(session_id)
        return entry

    def write(self, session_id: str, payload: bytes, user: str | None) -> Entry:
        """A local write: the new version, expiring one idle timeout from now."""
        version = version_of(payload) or 0
        entry = Entry(payload, version, time.time() + self.idle_timeout, user or self._user_of(session_id))
        self._store(session_id, entry)
        return entry

    def compare_and_set(self, session_id: str, expected: int, payload: bytes, user: str | None) -> str:
        current = self.get(session_id)
        if current is None:
            return GONE
        if current.version != expected:
            return CONFLICT
        self.write(session_id, payload, user)
        return STORED

    def apply(self, session_id: str, entry: Entry) -> bool:
        """A copy from a peer: kept only if newer than ours and the session was not deleted here."""
        if session_id in self._tombstones or entry.expires_at <= time.time():
            return False
        current = self._entries.get(session_id)
        if current is not None and current.version >= entry.version:
            if current.version == entry.version:
                current.expires_at = max(current.expires_at, entry.expires_at)
            return False
        entry.user = entry.user or (current.user if current else None)
        self._store(session_id, entry)
        return True

    def delete(self, session_id: str) -> bool:
        entry = self._entries.pop(session_id, None)
        until = entry.expires_at if entry else time.time() + self.idle_timeout
        self._tombstones[session_id] = until
        self._tombstones.move_to_end(session_id)
        self._trim_tombstones()
        return entry is not None

    def forget(self, session_id: str) -> None:
        """Drop a cached copy without a tombstone (its owner said it is not there: nothing to resurrect)."""
        self._entries.pop(session_id, None)

    def end_user(self, user: str) -> list[str]:
        """Delete every session of `user` held here; returns the ids that were live."""
        ended = [session_id for session_id in self._by_user.pop(user, ()) if session_id in self._entries]
        for session_id in ended:
            self.delete(session_id)
        return ended

    def is_deleted(self, session_id: str) -> bool:
        until = self._tombstones.get(session_id)
        return until is not None and until > time.time()

    def items(self) -> Iterator[tuple[str, Entry]]:
        """Live entries (a snapshot copy: safe to iterate while the table changes)."""
        current = time.time()
        return iter([(key, entry) for key, entry in self._entries.items() if entry.expires_at > current])

    def tombstones(self) -> list[tuple[str, float]]:
        current = time.time()
        return [(key, until) for key, until in self._tombstones.items() if until > current]

    def _user_of(self, session_id: str) -> str | None:
        entry = self._entries.get(session_id)
        return entry.user if entry else None

    def _store(self, session_id: str, entry: Entry) -> None:
        self._entries[session_id] = entry
        self._entries.move_to_end(session_id)
        user = entry.user
        if user is not None and session_id not in self._by_user.get(user, ()):
            live = tuple(other for other in self._by_user.get(user, ()) if other in self._entries)
            self._by_user[user] = (*live, session_id)
        self._evict()

    def _evict(self) -> None:
        """Drop expired entries from the cold end, then the least recently used beyond the bound."""
        current = time.time()
        while self._entries:
            oldest_id, oldest = next(iter(self._entries.items()))
            if oldest.expires_at > current and len(self._entries) <= self.max_entries:
                break
            del self._entries[oldest_id]

    def _trim_tombstones(self) -> None:
        current = time.time()
        while self._tombstones:
            oldest_id, until = next(iter(self._tombstones.items()))
            if until > current and len(self._tombstones) <= self.max_entries:
                break
            del self._tombstones[oldest_id]

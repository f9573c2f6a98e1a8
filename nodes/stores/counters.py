"""A node's session counters: what its store read, wrote and refreshed, and what it refused.

Plain integers bumped on the request path (no lock: one event loop), shown as JSON at NODE_SESSION_STATS_PATH with
the fields of `nodes.contract.names.SESSION_STATS_FIELDS`. Never reset: a reader takes differences between two
readings, as with the service times.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from nodes.contract.names import SESSION_STATS_FIELDS


@dataclass(slots=True)
class SessionCounters:
    requests: int = 0
    store_reads: int = 0
    store_writes: int = 0
    store_touches: int = 0
    store_bytes_read: int = 0
    store_bytes_written: int = 0
    sessions_expired: int = 0
    sessions_not_found: int = 0
    schema_migrated: int = 0
    schema_rejected: int = 0
    schema_unreadable: int = 0
    logins_refused: int = 0
    cookie_too_large: int = 0
    denylist_hits: int = 0

    def read(self, raw: bytes | str | None) -> None:
        """One store read (a miss too: it costs a round trip all the same)."""
        self.store_reads += 1
        if raw is None:
            self.sessions_not_found += 1
        else:
            self.store_bytes_read += len(raw)

    def wrote(self, payload: bytes | str) -> None:
        self.store_writes += 1
        self.store_bytes_written += len(payload)

    def snapshot(self) -> dict[str, int]:
        values = asdict(self)
        return {name: values[name] for name in SESSION_STATS_FIELDS}

"""Replication counters a node exposes at GET /_replication/stats (for the lab's messages-and-bytes-per-write graph)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass
class ReplicationStats:
    """Cumulative counts since start-up; per-write figures are derived in `as_json`."""

    writes: int = 0  # session writes, deletions and logout-alls that this node replicated (or forwarded)
    messages_sent: int = 0  # replication requests this node sent for those writes (forwards included)
    bytes_sent: int = 0  # their bodies, in bytes (HTTP heads add ~330 bytes each: see docs/replication.md)
    failed_sends: int = 0  # sends that failed or timed out (the peer is then left out until it answers again)
    forwarded: int = 0  # compare-and-set writes sent to the session's primary
    fetches: int = 0  # sessions asked from their owners (backup mode)
    resync_messages: int = 0  # snapshot chunks pushed to peers that (re)joined
    resync_bytes: int = 0
    heartbeats_failed: int = 0
    applied: int = 0  # ops from peers that changed this node's table
    refused: int = 0  # replication requests refused (401/400)
    lag_ms_last: float = 0.0  # async: enqueue-to-acknowledgement time of the last batch
    lag_ms_max: float = 0.0
    queued: int = 0  # async: ops waiting to be sent, all peers together
    dropped: int = 0  # async: ops dropped because their peer was left out (it re-syncs when back)
    startup_pull: str = "pending"  # pending | pulled | first-node | timed-out
    startup_pull_seconds: float = 0.0
    startup_pull_sessions: int = 0
    startup_pull_timeouts: int = 0

    def sent(self, size: int) -> None:
        self.messages_sent += 1
        self.bytes_sent += size

    def lag(self, milliseconds: float) -> None:
        self.lag_ms_last = round(milliseconds, 2)
        self.lag_ms_max = max(self.lag_ms_max, self.lag_ms_last)

    def as_json(self, **extra: Any) -> dict[str, Any]:
        writes = max(self.writes, 1)
        per_write = {"messages_per_write": self.messages_sent / writes, "bytes_per_write": self.bytes_sent / writes}
        return {**asdict(self), **per_write, **extra}

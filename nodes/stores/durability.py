"""SESSION_REDIS_WAIT: each session write waits (at most a timeout) until N replicas acknowledged it.

Redis replicates asynchronously: a primary that dies takes the writes its replica had not received yet with it,
and the replica Sentinel promotes never saw those sessions. `WAIT N timeout` after a write closes that window
for writes the replicas acknowledged in time. A write that got fewer acknowledgements is still answered (it is
on the primary; refusing it would turn a slow replica into an outage), counted and logged.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

log = logging.getLogger("nodes.session")


@dataclass
class Durability:
    """How many replica acknowledgements a write waits for, how long, and how often it got fewer."""

    replicas: int = 0
    timeout: float = 0.1
    under_acknowledged: int = 0
    _short: bool = False

    @property
    def timeout_ms(self) -> int:
        return max(1, round(self.timeout * 1000))

    def record(self, acknowledged: object) -> None:
        """Count a write that fewer than `replicas` replicas acknowledged; log when that starts and stops."""
        short = not isinstance(acknowledged, int) or acknowledged < self.replicas
        if short:
            self.under_acknowledged += 1
        if short != self._short:
            self._short = short
            if short:
                log.warning("session writes acknowledged by %s of %d replicas in %d ms", acknowledged, self.replicas,
                            self.timeout_ms)  # fmt: skip
            else:
                log.warning("session writes acknowledged by %d replicas again", self.replicas)

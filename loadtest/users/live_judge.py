"""What a long-lived client can tell from its messages alone: ticks lost or repeated, increments lost or counted
twice, and how long to wait before reconnecting. Pure Python: no locust, no sockets.

Ticks are numbered 1, 2, … per connection: a gap is lost ticks, a repeat a duplicate. The client is its session's
only writer, so every `incr` answer must be the counter before it plus one; an increment whose answer a close cut
off is in doubt (it may or may not have been stored), and the next connection's hello settles it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

BACKOFF_FIRST_S = 0.1
BACKOFF_MAX_S = 5.0


def backoff(attempt: int, rng: random.Random | None = None) -> float:
    """Seconds to wait before reconnect attempt `attempt` (0, 1, …): exponential, capped, with full jitter in its
    upper half (so a node's clients, closed at once, do not all come back at once)."""
    ceiling = min(BACKOFF_MAX_S, BACKOFF_FIRST_S * 2.0**attempt)
    return ceiling * (0.5 + 0.5 * (rng or random).random())


@dataclass
class Verdict:
    """What one message proved."""

    lost: int = 0
    duplicated: int = 0


class LiveJudge:
    """One client's expectations across its connections."""

    def __init__(self) -> None:
        self.counter: int | None = None  # the counter the client knows was stored (None: none yet)
        self.in_doubt = 0  # increments sent whose answer never came (the connection closed first)
        self.sent = 0  # increments sent on this connection, not yet answered
        self.seq = 0  # the last tick number on this connection

    def new_session(self) -> None:
        """A new login: nothing is expected of the old session any more."""
        self.counter, self.in_doubt, self.sent, self.seq = None, 0, 0, 0

    def hello(self, counter: int) -> Verdict:
        """A connection opened: its counter settles the increments in doubt."""
        self.seq, self.sent = 0, 0
        known, doubt, self.in_doubt = self.counter, self.in_doubt, 0
        self.counter = counter
        if known is None:
            return Verdict()
        if counter < known:
            return Verdict(lost=known - counter)
        return Verdict(duplicated=max(0, counter - known - doubt))

    def tick(self, seq: int) -> Verdict:
        last, self.seq = self.seq, max(self.seq, seq)
        if seq <= last:
            return Verdict(duplicated=1)
        return Verdict(lost=seq - last - 1)

    def increment_sent(self) -> None:
        self.sent += 1

    def answered(self, counter: int) -> Verdict:
        """An `incr` answered with the stored counter: it settles the increments in doubt before it (stored or not,
        the answer shows it), so they are no duplicates."""
        self.sent = max(0, self.sent - 1)
        known, self.counter = self.counter, counter
        doubt, self.in_doubt = self.in_doubt, 0
        if known is None or counter == known + 1:
            return Verdict()
        if counter <= known:
            return Verdict(lost=known + 1 - counter)
        return Verdict(duplicated=max(0, counter - known - 1 - doubt))

    def unanswered(self) -> None:
        """An increment sent on its own request whose answer never came (SSE's POST /counter): in doubt now."""
        self.sent = max(0, self.sent - 1)
        self.in_doubt += 1

    def closed(self) -> None:
        """The connection ended: its unanswered increments are in doubt until the next hello."""
        self.in_doubt += self.sent
        self.sent = 0

"""How a burst of parallel increments is judged: lost, or only read back from a copy that was behind.

The burst's user is the only writer of its session's counter, so the next read of that counter (at the next
burst) shows every increment that was stored, however late an asynchronous copy reached the node that answers.
Increments missing from the read-back right after the burst but present at that next look were stored: a stale
read-back, not a lost update. Without a next look (the run ended) the read-back is all there is.
"""

from __future__ import annotations

from typing import NamedTuple


class BurstOutcome(NamedTuple):
    lost: int  # acknowledged, and still missing at the later look
    stale: int  # missing from the read-back, present at the later look


def judge_burst(before: int, acked: int, read_back: int, seen_later: int | None) -> BurstOutcome:
    """`before` + `acked` should be stored; `read_back` came right after the burst, `seen_later` at the next look."""
    expected = before + acked
    later = read_back if seen_later is None else max(read_back, seen_later)
    return BurstOutcome(lost=max(expected - later, 0), stale=max(min(later, expected) - read_back, 0))

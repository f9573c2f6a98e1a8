"""A burst's increments: lost only if still missing at the next look; missing only from the read-back is stale."""

from __future__ import annotations

from loadtest.users.bursts import BurstOutcome, judge_burst


def test_a_read_back_behind_an_asynchronous_copy_is_stale_not_lost() -> None:
    assert judge_burst(before=10, acked=10, read_back=17, seen_later=20) == BurstOutcome(lost=0, stale=3)


def test_increments_missing_at_the_next_look_too_are_lost() -> None:
    assert judge_burst(before=10, acked=10, read_back=17, seen_later=17) == BurstOutcome(lost=3, stale=0)
    assert judge_burst(before=10, acked=10, read_back=15, seen_later=18) == BurstOutcome(lost=2, stale=3)


def test_without_a_next_look_the_read_back_is_all_there_is() -> None:
    assert judge_burst(before=0, acked=10, read_back=8, seen_later=None) == BurstOutcome(lost=2, stale=0)
    assert judge_burst(before=0, acked=10, read_back=10, seen_later=None) == BurstOutcome(lost=0, stale=0)


def test_a_later_look_that_saw_more_than_the_burst_counts_nothing_extra() -> None:
    assert judge_burst(before=5, acked=3, read_back=8, seen_later=9) == BurstOutcome(lost=0, stale=0)

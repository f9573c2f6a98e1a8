"""The long-lived user's judge: no message counted twice, increments in doubt settled by the next hello."""

from __future__ import annotations

import random

from loadtest.users.live_judge import BACKOFF_MAX_S, LiveJudge, Verdict, backoff


def test_ticks_in_order_prove_nothing_and_gaps_and_repeats_are_counted() -> None:
    judge = LiveJudge()
    judge.hello(0)
    assert [judge.tick(seq) for seq in (1, 2, 3)] == [Verdict()] * 3
    assert judge.tick(6) == Verdict(lost=2)
    assert judge.tick(6) == Verdict(duplicated=1)
    judge.hello(0)  # a new connection numbers its ticks from 1 again
    assert judge.tick(1) == Verdict()


def test_each_increment_must_add_exactly_one() -> None:
    judge = LiveJudge()
    judge.hello(5)
    judge.increment_sent()
    assert judge.answered(6) == Verdict()
    judge.increment_sent()
    assert judge.answered(6) == Verdict(lost=1)  # the store lost it (or served a stale copy)
    judge.increment_sent()
    assert judge.answered(8) == Verdict(duplicated=1)


def test_an_increment_cut_off_by_a_close_is_settled_by_the_next_hello() -> None:
    judge = LiveJudge()
    judge.hello(3)
    judge.increment_sent()
    judge.closed()
    assert judge.hello(4) == Verdict()  # it was stored: fine
    judge.increment_sent()
    judge.closed()
    assert judge.hello(4) == Verdict()  # it was not: fine too, nobody was told it was
    assert judge.hello(6) == Verdict(duplicated=2)  # more than was ever sent
    assert judge.hello(2) == Verdict(lost=4)  # a reconnect that lost what was stored
    judge.new_session()
    assert judge.hello(0) == Verdict()  # a new login starts over


def test_backoff_grows_is_capped_and_jittered() -> None:
    rng = random.Random(7)
    waits = [backoff(attempt, rng) for attempt in range(12)]
    assert 0.05 <= waits[0] <= 0.1 and waits[3] > waits[0]
    assert all(wait <= BACKOFF_MAX_S for wait in waits) and len(set(waits)) == len(waits)


def test_an_increment_whose_request_failed_is_in_doubt_not_a_duplicate() -> None:
    judge = LiveJudge()
    judge.hello(1)
    judge.increment_sent()
    judge.unanswered()  # SSE: the POST /counter got no answer; it may have been stored
    judge.increment_sent()
    assert judge.answered(3) == Verdict()  # it was: the doubt is settled
    judge.increment_sent()
    judge.unanswered()
    judge.increment_sent()
    assert judge.answered(4) == Verdict()  # it was not: fine too
    judge.increment_sent()
    assert judge.answered(6) == Verdict(duplicated=1)  # the doubt is no licence for a second one

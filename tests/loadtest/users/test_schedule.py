"""Open-loop schedules: the rate they promise, their even spread, and how a delayed start is classified."""

from __future__ import annotations

import random

import pytest

from loadtest.users.schedule import LATE, ON_TIME, QUEUED, Schedule, classify_start, per_user_rate, user_phase


def test_a_fixed_schedule_keeps_its_rate_exactly() -> None:
    schedule = Schedule(rate=20.0, epoch=100.0)
    starts = [schedule.take() for _ in range(201)]
    assert starts[0] == pytest.approx(100.0)
    assert starts[-1] - starts[0] == pytest.approx(10.0)  # 200 gaps of 50 ms


def test_a_poisson_schedule_keeps_its_mean_rate_with_irregular_gaps() -> None:
    schedule = Schedule(rate=50.0, epoch=0.0, poisson=True, rng=random.Random(7))
    starts = [schedule.take() for _ in range(20_001)]
    gaps = [b - a for a, b in zip(starts, starts[1:], strict=False)]
    assert len(gaps) / (starts[-1] - starts[0]) == pytest.approx(50.0, rel=0.03)
    assert min(gaps) < 0.002 < 0.1 < max(gaps)  # exponential gaps, not a metronome


def test_users_share_the_total_rate_and_their_phases_spread_over_the_interval() -> None:
    assert per_user_rate(200.0, 40) == 5.0
    phases = sorted(user_phase(i) for i in range(10))
    assert max(b - a for a, b in zip(phases, phases[1:], strict=False)) < 0.2  # no two users bunch up
    with pytest.raises(ValueError):
        Schedule(rate=0.0, epoch=0.0)


def test_the_schedule_moves_on_whatever_the_answers_do() -> None:
    schedule = Schedule(rate=10.0, epoch=0.0)
    assert [schedule.take() for _ in range(3)] == pytest.approx([0.0, 0.1, 0.2])  # no answer was awaited


def test_a_start_delayed_by_the_users_previous_answer_is_queued_not_late() -> None:
    assert classify_start(intended=1.0, sent=1.001, idle_since=0.5) == ON_TIME
    assert classify_start(intended=1.0, sent=1.300, idle_since=1.299) == QUEUED  # the system was slow
    assert classify_start(intended=1.0, sent=1.050, idle_since=0.5) == LATE  # idle user, generator 50 ms behind
    assert classify_start(intended=1.0, sent=1.300, idle_since=1.2) == LATE  # answered at 1.2, left 100 ms later

"""The membership paragraph: the ring's movement is told only for the routing that places clients by the ring."""

from __future__ import annotations

from typing import Any

import pytest

from loadtest.compare.report.membership import paragraph
from tests.loadtest.compare.report.reading import numbers


def scale_out(routing: str, **extra: Any) -> dict[str, Any]:
    """A scale-out cell as results.json holds it (scenarios/scale_out.py records the ring for every routing)."""
    return {"store": "memory", "routing": routing, "scenario": "scale-out", "misses": 111, "session_requests": 2012,
            "miss_rate": 0.055, "expected_misses": 116, "expected_miss_rate": 0.058, "tolerance": 0.052,
            "verdict": "ok", "errors": 0, "expected_errors": 0, "errors_allowed": 2, "ring_moved_share": 0.2258,
            "ideal_moved_share": 0.25, "changes": [{"t": 7.0, "node": "node-4", "what": "join"}], **extra}  # fmt: skip


def test_hash_cells_tell_how_far_the_ring_moved() -> None:
    text = paragraph(scale_out("hash"))
    assert "ring moved" in text and numbers(r"moved #% of ids to the new node \(ideal #%\)", text) == [(22.6, 25.0)]


@pytest.mark.parametrize("routing", ["sticky", "route", "random"])
def test_cells_not_placed_by_the_ring_say_nothing_of_it(routing: str) -> None:
    text = paragraph(scale_out(routing))
    assert "ring" not in text and "0 misses" not in text and "at most 2 allowed" in text


def test_a_cell_judged_off_on_errors_says_so() -> None:
    text = paragraph(scale_out("hash", verdict="DISAGREES WITH THEORY", errors=9, miss_agrees_with_theory=True,
                               errors_agree_with_theory=False, agrees_with_theory=False))  # fmt: skip
    assert "DISAGREES WITH THEORY on errors" in text
    assert numbers(r"Failed requests: # \(theory #, at most # allowed\)", text) == [(9, 0, 2)]

"""`sessionlab cluster`'s hint for the node page: one line per store x routing, saying what a user will see."""

from __future__ import annotations

import pytest

from loadtest.lab.page_hints import FALLBACK, page_hint, page_lines
from nodes.contract.names import NODE_STORES, ROUTING_MODES

CHOICES = [(store, routing) for store in NODE_STORES for routing in ROUTING_MODES]


@pytest.mark.parametrize(("store", "routing"), CHOICES)
def test_every_choice_has_its_own_hint_not_the_generic_one(store: str, routing: str) -> None:
    assert page_hint(store, routing) != FALLBACK


@pytest.mark.parametrize(("store", "routing"), CHOICES)
def test_the_hint_says_whether_the_session_stays(store: str, routing: str) -> None:
    """memory without affinity (random, round robin) loses sessions; every other choice keeps them (hash: once the
    login lands on the right node)."""
    hint = page_hint(store, routing)
    if store == "memory" and routing in ("random", "round_robin"):
        assert "watch the session vanish" in hint and "stays" not in hint
    else:
        assert "stays" in hint and "watch the session vanish" not in hint


def test_a_choice_added_later_gets_the_generic_hint() -> None:
    assert page_hint("replicated-someday", "route-someday") == FALLBACK


def test_the_banner_lines_name_the_url_and_the_choice() -> None:
    lines = page_lines("http://127.0.0.1:8080", "memory", "random")
    assert "http://127.0.0.1:8080/" in lines[0] and "browser" in lines[0]
    assert lines[1].strip().startswith("memory + random:") and page_hint("memory", "random") in lines[1]

"""`sessionlab cluster`'s hint for the node page: one line per store x routing, saying what a user will see."""

from __future__ import annotations

from loadtest.lab.page_hints import FALLBACK, page_hint, page_lines
from nodes.contract.names import ROUTING_MODES, STORES


def test_every_choice_has_a_hint_and_memory_random_says_the_session_vanishes() -> None:
    assert all(page_hint(store, routing) for store in STORES for routing in ROUTING_MODES)
    assert "watch the session vanish" in page_hint("memory", "random")
    assert "session stays" in page_hint("redis", "random") and "session stays" in page_hint("memory", "sticky")


def test_a_choice_added_later_gets_the_generic_hint() -> None:
    assert page_hint("replicated-someday", "route-someday") == FALLBACK


def test_the_banner_lines_name_the_url() -> None:
    lines = page_lines("http://127.0.0.1:8080", "memory", "random")
    assert lines[0] == "Watch a session: open http://127.0.0.1:8080/ in a browser and log in."
    assert lines[1].startswith("  memory + random: reload a few times and watch the session vanish")

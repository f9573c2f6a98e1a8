"""Cookie-header handling that must read whatever clients send and never raise."""

from __future__ import annotations

from balancer.cookies import affinity_set_cookie, cookie_value, without_cookie


def test_cookie_value_finds_the_first_exact_name() -> None:
    assert cookie_value("a=1; SL_ROUTE=xyz; SL_ROUTE=other", "SL_ROUTE") == "xyz"
    assert cookie_value("XSL_ROUTE=1; SL_ROUTEX=2", "SL_ROUTE") is None
    assert cookie_value("", "SL_ROUTE") is None
    assert cookie_value(";;=;SL_ROUTE;SL_ROUTE= spaced ", "SL_ROUTE") == "spaced"


def test_without_cookie_drops_every_pair_with_that_name() -> None:
    assert without_cookie("a=1; SL_ROUTE=x; b=2;SL_ROUTE=y", "SL_ROUTE") == "a=1; b=2"
    assert without_cookie("SL_ROUTE=x", "SL_ROUTE") == ""
    assert without_cookie("a=1;b=2", "SL_ROUTE") == "a=1;b=2"  # untouched when absent


def test_the_affinity_cookie_is_script_proof_and_same_site() -> None:
    assert affinity_set_cookie("SL_ROUTE", "abc") == "SL_ROUTE=abc; Path=/; HttpOnly; SameSite=Lax"

"""The miss judgement the locustfile applies to every authenticated answer."""

from __future__ import annotations

from loadtest.users.misses import Expected, cart_of, judge, learn


def user(counter: int = 0, cart: dict[str, int] | None = None) -> Expected:
    return Expected(user="alice", counter=counter, cart=dict(cart or {}))


def test_401_on_an_authenticated_call_is_a_miss() -> None:
    assert judge(401, {"node": "node-1", "session": "missing"}, user()) == "401"


def test_a_hit_is_not_a_miss() -> None:
    assert judge(200, {"user": "alice", "counter": 3}, user(counter=3)) is None


def test_someone_elses_session_is_a_miss() -> None:
    assert judge(200, {"user": "bob", "counter": 0}, user()) == "other user's session"


def test_a_counter_that_went_back_is_a_miss() -> None:
    assert judge(200, {"user": "alice", "counter": 2}, user(counter=3)) == "counter went back"
    assert judge(200, {"user": "alice", "counter": 3}, user(counter=3), min_counter=4) == "counter went back"
    assert judge(200, {"user": "alice", "counter": 4}, user(counter=3), min_counter=4) is None


def test_a_cart_that_lost_items_is_a_miss_unless_it_was_cleared() -> None:
    before = user(cart={"apple": 2})
    assert judge(200, {"user": "alice", "cart": [{"sku": "apple", "qty": 1}]}, before) == "cart went back"
    assert judge(200, {"user": "alice", "cart": []}, before, min_cart={}) is None
    grown = {"user": "alice", "cart": [{"sku": "apple", "qty": 2}, {"sku": "eggs", "qty": 1}]}
    assert judge(200, grown, before) is None


def test_errors_prove_nothing() -> None:
    for status in (0, 400, 413, 500, 502, 503):
        assert judge(status, None, user()) is None
    assert judge(200, None, user()) is None


def test_learn_keeps_what_the_session_now_holds() -> None:
    expected = user(counter=1)
    learn({"user": "alice", "counter": 5, "cart": [{"sku": "eggs", "qty": 2}]}, expected)
    assert (expected.counter, expected.cart) == (5, {"eggs": 2})
    expected.reset()
    assert (expected.counter, expected.cart) == (0, {})


def test_cart_of_ignores_malformed_lines() -> None:
    assert cart_of({"cart": [{"sku": "a", "qty": 1}, {"sku": 3}, "x"]}) == {"a": 1}
    assert cart_of({"counter": 1}) is None

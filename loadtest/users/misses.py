"""What proves a session miss: the pure judgement the locustfile applies to every authenticated response.

A miss is a response showing that the serving node did not see the user's session: a 401 on a call that
carried one, someone else's session, or state that went back (a counter or cart smaller than the user
knows it to be). Anything else that is not a 200 is an error, never a miss.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Expected:
    """What one user knows its session holds, kept client-side to catch state that went back."""

    user: str
    counter: int = 0
    cart: dict[str, int] = field(default_factory=dict)

    def reset(self) -> None:
        """A new login starts a new, empty session."""
        self.counter = 0
        self.cart = {}


def cart_of(body: Any) -> dict[str, int] | None:
    """`{sku: qty}` from a cart response body, or None when it has no readable cart."""
    items = body.get("cart") if isinstance(body, dict) else None
    if not isinstance(items, list):
        return None
    cart: dict[str, int] = {}
    for item in items:
        if isinstance(item, dict) and isinstance(item.get("sku"), str) and isinstance(item.get("qty"), int):
            cart[item["sku"]] = cart.get(item["sku"], 0) + item["qty"]
    return cart


def judge(
    status: int,
    body: Any,
    expected: Expected,
    *,
    min_counter: int | None = None,
    min_cart: dict[str, int] | None = None,
) -> str | None:
    """The reason this response proves a session miss, or None (a hit, or an error that proves nothing).

    `min_counter` is the lowest counter the answer may show (default: the expected one; one more after an
    increment); `min_cart` what its cart must still hold (default: the expected cart; empty after clearing).
    """
    if status == 401:
        return "401"
    if status != 200 or not isinstance(body, dict):
        return None
    if "user" in body and body["user"] != expected.user:
        return "other user's session"
    counter = body.get("counter")
    floor = expected.counter if min_counter is None else min_counter
    if isinstance(counter, int) and counter < floor:
        return "counter went back"
    cart = cart_of(body)
    floor_cart = expected.cart if min_cart is None else min_cart
    if cart is not None and any(cart.get(sku, 0) < qty for sku, qty in floor_cart.items()):
        return "cart went back"
    return None


def learn(body: Any, expected: Expected) -> None:
    """After a hit, remember what the session now holds (the server's answer is the truth from here on)."""
    if not isinstance(body, dict):
        return
    counter = body.get("counter")
    if isinstance(counter, int):
        expected.counter = max(expected.counter, counter)
    cart = cart_of(body)
    if cart is not None:
        expected.cart = cart


def json_or_none(resp: Any) -> Any:
    """A locust answer's JSON body, or None when it has none."""
    try:
        return json.loads(resp.content or b"null")
    except (ValueError, TypeError):
        return None

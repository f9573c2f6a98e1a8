"""Session changes as small re-appliable functions, and answers rendered from the session they produced.

With `SESSION_CONSISTENCY=cas` a save fails when another request saved the same session since this one
read it. `nodes.writes` then re-reads the session, re-applies this request's changes to the fresh copy
and tries again, so concurrent increments and cart additions all count. The answer is rendered again from
the merged session, so a client always sees the value that was actually stored.
"""

from __future__ import annotations

import json
from collections.abc import Callable, MutableMapping
from typing import Any

from aiohttp import web

from nodes.validation import BadRequest

Change = Callable[[MutableMapping[str, Any]], None]
Render = Callable[[MutableMapping[str, Any]], dict[str, Any]]

CHANGES = web.RequestKey("session_changes", list)

MAX_CART_LINES = 200


class SessionConflict(Exception):
    """Concurrent writes kept winning, or this request's change no longer applies; the client gets a 409."""


def apply(request: web.Request, session: MutableMapping[str, Any], change: Change) -> None:
    """Apply `change` now and remember it, so the store can re-apply it after a concurrent write."""
    change(session)
    request.setdefault(CHANGES, []).append(change)


def replay(request: web.Request, session: MutableMapping[str, Any]) -> None:
    """Re-apply this request's changes to a freshly read session."""
    for change in request.get(CHANGES, []):
        try:
            change(session)
        except BadRequest as exc:
            raise SessionConflict(exc.detail) from None


class SessionReply(web.Response):
    """A JSON answer computed from the session; `rerender` recomputes it from the session that was stored."""

    def __init__(self, node_id: str, render: Render, session: MutableMapping[str, Any]) -> None:
        self._node_id = node_id
        self._render = render
        super().__init__(text=self._json(session), content_type="application/json")

    def rerender(self, session: MutableMapping[str, Any]) -> None:
        self.text = self._json(session)

    def _json(self, session: MutableMapping[str, Any]) -> str:
        return json.dumps({"node": self._node_id, **self._render(session)})


def increment_counter(session: MutableMapping[str, Any]) -> None:
    session["counter"] = session["counter"] + 1


def add_to_cart(sku: str, qty: int) -> Change:
    def change(session: MutableMapping[str, Any]) -> None:
        cart = [dict(line) for line in session["cart"]]
        line = next((line for line in cart if line["sku"] == sku), None)
        if line is not None:
            line["qty"] += qty
        elif len(cart) >= MAX_CART_LINES:
            raise BadRequest(f"the cart is full ({MAX_CART_LINES} lines)")
        else:
            cart.append({"sku": sku, "qty": qty})
        session["cart"] = cart

    return change


def clear_cart(session: MutableMapping[str, Any]) -> None:
    session["cart"] = []

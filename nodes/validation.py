"""Checks on request bodies: a bad body is a 400 with a reason, never a 500 and never a half-applied change."""

from __future__ import annotations

from typing import Any

from aiohttp import web

MAX_NAME = 64
MAX_QTY = 1000


class BadRequest(web.HTTPBadRequest):
    """A 400 whose JSON body says what was wrong with the request."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason="Bad Request")
        self.detail = reason


def _name(body: dict[str, Any], field: str) -> str:
    value = body.get(field)
    if not isinstance(value, str) or not value.strip():
        raise BadRequest(f"'{field}' must be a non-empty string")
    if len(value) > MAX_NAME or not value.isprintable():
        raise BadRequest(f"'{field}' must be at most {MAX_NAME} printable characters")
    return value


def _object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    return body


def read_login(body: Any) -> str:
    """The user name of a login body {"user": str}."""
    return _name(_object(body), "user")


def read_cart_item(body: Any) -> tuple[str, int]:
    """(sku, qty) of a cart body {"sku": str, "qty": int from 1 to MAX_QTY}."""
    body = _object(body)
    sku = _name(body, "sku")
    qty = body.get("qty")
    if isinstance(qty, bool) or not isinstance(qty, int) or not 1 <= qty <= MAX_QTY:
        raise BadRequest(f"'qty' must be an integer from 1 to {MAX_QTY}")
    return sku, qty

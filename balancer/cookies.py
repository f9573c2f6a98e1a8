"""Just enough Cookie-header handling for routing: find one cookie's value, hide one cookie, build Set-Cookie.

`http.cookies.SimpleCookie` rejects whole headers over one odd pair and is slow; a proxy must read whatever
browsers send, so this splits on `;` and never raises.
"""

from __future__ import annotations


def cookie_value(header: str, name: str) -> str | None:
    """The value of the first cookie called `name` in a Cookie header, or None."""
    if name not in header:  # fast path: most requests do not carry it
        return None
    for pair in header.split(";"):
        key, sep, value = pair.partition("=")
        if sep and key.strip() == name:
            return value.strip()
    return None


def without_cookie(header: str, name: str) -> str:
    """The Cookie header minus every cookie called `name` (the balancer's own cookie is not the node's business)."""
    if name not in header:
        return header
    kept = [pair.strip() for pair in header.split(";") if pair.partition("=")[0].strip() != name]
    return "; ".join(pair for pair in kept if pair)


def affinity_set_cookie(name: str, value: str, max_age: int = 0) -> str:
    """A Set-Cookie value for the balancer's affinity cookie: script-proof, same-site; browser-session long, or
    `max_age` seconds (BALANCER_STICKY_TTL)."""
    lifetime = f"; Max-Age={max_age}" if max_age > 0 else ""
    return f"{name}={value}; Path=/; HttpOnly; SameSite=Lax{lifetime}"

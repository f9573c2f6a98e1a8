"""The balancers' configurations, from the jinja2 templates under templates/ (one per balancer)."""

from __future__ import annotations

from pathlib import Path

import jinja2

from nodes.contract.names import AFFINITY_COOKIE, SESSION_COOKIE, TOKEN_HEADER

ENVIRONMENT = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).resolve().parent / "templates"),
    undefined=jinja2.StrictUndefined,
    keep_trailing_newline=True,
    trim_blocks=True,
    lstrip_blocks=True,
)


def render(template: str, **values: object) -> str:
    """A template with the contract's names (session cookie, token header, affinity cookie) filled in."""
    names = {"session_cookie": SESSION_COOKIE, "affinity_cookie": AFFINITY_COOKIE, "token_header": TOKEN_HEADER}
    return ENVIRONMENT.get_template(template).render(**names, **values)

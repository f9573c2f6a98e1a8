"""One jinja2 environment per template folder, with the number formats of `format` as filters."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import jinja2

from loadtest.render.format import FILTERS


@cache
def environment(folder: Path) -> jinja2.Environment:
    """Templates under `folder`; markdown and text templates are not escaped (html ones are, by their suffix)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(folder),
        autoescape=jinja2.select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters.update(FILTERS)
    return env


def render(folder: Path, name: str, **context: object) -> str:
    return environment(folder).get_template(name).render(**context)

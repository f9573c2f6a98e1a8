"""One jinja2 environment per template folder, with the number formats of `format` as filters."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import jinja2

from loadtest.render.format import FILTERS


@cache
def environment(*folders: Path) -> jinja2.Environment:
    """Templates under `folders`, the first that has a name wins; html templates are escaped, markdown and text
    ones are not. The filters: every number format of `format`, and `cell` for a markdown table cell."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(list(folders)),
        autoescape=jinja2.select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters.update(FILTERS)
    env.filters["cell"] = lambda value: str(value).replace("|", "\\|")  # a markdown table cell's pipes
    return env


def render(folder: Path, name: str, **context: object) -> str:
    return environment(folder).get_template(name).render(**context)

"""Writing a compare report: report.md and a self-contained report.html from ONE model, through jinja2 templates.

Plots are drawn from the results (plots.py) and inlined into the HTML as data: URIs, so the page opens offline.
Also results.json and the console summary. Regenerate a report with `python -m loadtest.compare.report DIR`.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import jinja2
import markupsafe

from loadtest.compare.report.decision import short_names
from loadtest.compare.report.model import build
from loadtest.compare.report.table import Cell, table_rows
from loadtest.compare.report.text import load_warnings, warning_lines
from loadtest.compare.report.top import meta_fields

TEMPLATES = Path(__file__).resolve().parent / "templates"
ENVIRONMENT = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES),
    autoescape=jinja2.select_autoescape(["html"]),
    undefined=jinja2.StrictUndefined,
    keep_trailing_newline=True,
    trim_blocks=True,
    lstrip_blocks=True,
)
ENVIRONMENT.tests["prose"] = lambda value: str(value)[:1].isalpha()  # a sentence, not a figure: left-aligned
ENVIRONMENT.globals["short_choices"] = short_names


def code_spans(value: Any) -> Any:
    """report.html only: the prose marks option and field names with Markdown backticks (`--scenario x`), which
    report.md keeps and a browser would show as literal backticks: HTML gets <code> instead."""
    if not isinstance(value, str) or isinstance(value, markupsafe.Markup) or "`" not in value:
        return value
    parts = str(markupsafe.escape(value)).split("`")
    if len(parts) % 2 == 0:  # an unpaired backtick: leave the text as it is
        return value
    return markupsafe.Markup("".join(f"<code>{part}</code>" if index % 2 else part for index, part in enumerate(parts)))


HTML_ENVIRONMENT = ENVIRONMENT.overlay(finalize=code_spans)


def render_markdown(results: dict[str, Any], figures: dict[str, tuple[str, bytes]]) -> str:
    return ENVIRONMENT.get_template("report.md").render(build(results, figures))


def render_html(results: dict[str, Any], figures: dict[str, tuple[str, bytes]]) -> str:
    return HTML_ENVIRONMENT.get_template("report.html").render(build(results, figures))


def console_summary(cells: Sequence[Cell]) -> str:
    """The comparison as aligned text, with disagreements shouted."""
    headers, rows = table_rows(cells)
    keep = [i for i, h in enumerate(headers) if h not in ("browser miss", "app miss", "node share", "killed")]
    table = [[headers[i] for i in keep]] + [[row[i] for i in keep] for row in rows]
    widths = [max(len(r[i]) for r in table) for i in range(len(keep))]
    lines = ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in table]
    warnings = warning_lines(cells)
    if warnings:
        lines += ["", "!" * 78, f"!! {len(warnings)} cell(s) DISAGREE WITH THEORY:"]
        lines += [f"!!   {w}" for w in warnings] + ["!" * 78]
    lines += [f"WARNING: {w}" for w in load_warnings(cells)]
    return "\n".join(lines)


def write_results(out: Path, meta: dict[str, Any], cells: list[Cell]) -> Path:
    """results.json: {"meta": {...}, "cells": [one object per cell]}, replaced atomically after every cell."""
    path = out / "results.json"
    partial = path.with_name("results.json.tmp")
    partial.write_text(json.dumps({"meta": meta, "cells": cells}, indent=2))
    partial.replace(path)
    return path


def write_report(out: Path, results: dict[str, Any]) -> list[Path]:
    """Write report.md, report.html and plots/*.png into `out`; returns the paths written."""
    from loadtest.compare.report.figures import plots  # matplotlib is slow to import: only when drawing

    figures = plots.render_all(results["cells"])
    (out / "plots").mkdir(parents=True, exist_ok=True)
    for name, (_, png) in figures.items():
        (out / "plots" / f"{name}.png").write_bytes(png)
    md, page = out / "report.md", out / "report.html"
    md.write_text(render_markdown(results, figures))
    page.write_text(render_html(results, figures))
    return [out / "results.json", md, page]


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print(
            "usage: python -m loadtest.compare.report DIR  (rewrites DIR/report.md and DIR/report.html)",
            file=sys.stderr,
        )
        return 2
    out = Path(args[0])
    results = json.loads((out / "results.json").read_text())
    results["meta"] = {**results.get("meta", {}), **meta_fields(results["cells"], results.get("meta", {}))}
    write_results(out, results["meta"], results["cells"])
    for path in write_report(out, results):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

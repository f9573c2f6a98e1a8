"""Writing a compare report: report.md and a self-contained report.html from ONE model, through jinja2 templates.

Plots are drawn from the results (plots.py) and inlined into the HTML as data: URIs, so the page opens offline.
Also results.json and the console summary. Regenerate a report with `python -m loadtest.compare.report DIR`.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import markupsafe

from loadtest.compare.report.decision import short_names
from loadtest.compare.report.model import build
from loadtest.compare.report.table import Cell, table_rows
from loadtest.compare.report.text import load_warnings, warning_lines
from loadtest.compare.report.top import meta_fields
from loadtest.render.page import results_page
from loadtest.render.templates import environment

TEMPLATES = Path(__file__).resolve().parent / "templates"
ENVIRONMENT = environment(TEMPLATES)  # the lab's one jinja2 setup, its number formats as filters
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
    headers, rows = table_rows(cells, console=True)
    table = [headers, *rows]
    widths = [max(len(r[i]) for r in table) for i in range(len(headers))]
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


def write_results_page(page: Path, report_md: Path, command: str, took_s: float) -> Path:
    """docs/results/<name>.md: the report's text (its figures stay beside report.md) under date, machine, command."""
    body = "\n".join(line for line in report_md.read_text().splitlines() if not line.startswith("!["))
    body = body.split("\n", 1)[1] if body.startswith("# ") else body  # the page has its own title
    text = results_page("Compare results", "sessionlab compare", f"{datetime.now():%Y-%m-%d %H:%M}", command, took_s,
                        "One run on one machine: the verdicts and theory hold anywhere, the latencies are this "
                        "machine's. How to read it: [the report](../report.md).", body)  # fmt: skip
    page.parent.mkdir(parents=True, exist_ok=True)
    page.write_text(text)
    return page

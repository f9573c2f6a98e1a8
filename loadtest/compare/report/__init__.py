"""results.json -> report.md and report.html: table (columns), text (prose), model (both templates' input),
plots (figures from the model's cells), render (jinja2 templates under templates/, files, console summary)."""

from loadtest.compare.report.render import console_summary, render_html, render_markdown, write_report, write_results
from loadtest.compare.report.table import cell_name, ran, table_rows
from loadtest.compare.report.text import store_verdicts, warning_lines
from loadtest.render.format import pct

__all__ = [
    "cell_name", "console_summary", "pct", "ran", "render_html", "render_markdown", "store_verdicts", "table_rows",
    "warning_lines", "write_report", "write_results",
]  # fmt: skip

"""The one model both report templates render: everything report.md and report.html show, built from results.json.

Prose keeps its emphasis as segments `[(text, bold), ...]`, so each template marks bold in its own syntax.
"""

from __future__ import annotations

import base64
from typing import Any

from loadtest.compare.fidelity import report as fidelity_report
from loadtest.compare.report import balancers, membership, replication, session_lines
from loadtest.compare.report.captions import how_to_read
from loadtest.compare.report.survival import survival_lines
from loadtest.compare.report.table import ran
from loadtest.compare.report.tables import build_tables
from loadtest.compare.report.text import (
    LOST_UPDATE_INTRO,
    REVOCATION_INTRO,
    load_warnings,
    lost_update_lines,
    reading_guide,
    revocation_lines,
    setup_text,
    store_verdicts,
    warning_lines,
)
from loadtest.compare.report.top import build_top

Segments = list[tuple[str, bool]]


def segments(text: str) -> Segments:
    """Split our own "**bold**" markers into (text, bold) pieces."""
    return [(part, index % 2 == 1) for index, part in enumerate(text.split("**")) if part]


def build(results: dict[str, Any], figures: dict[str, tuple[str, bytes]]) -> dict[str, Any]:
    """The report model: setup, warnings, the top (grids, Recommendation), the detail tables, optional sections,
    verdicts in words, figures and the reading guide."""
    cells, meta = results["cells"], results.get("meta", {})
    return {
        "title": "sessionlab: sticky sessions or shared sessions?",
        "setup": setup_text(meta, cells),
        "warnings": warning_lines(cells),
        "load_warnings": load_warnings(cells),
        "load_model": fidelity_report.load_model_lines(ran(cells)),
        "verdicts": store_verdicts(cells),
        "survival": survival_lines(cells),
        "top": build_top(results),
        "tables": build_tables(cells),
        "lost_updates": {"intro": LOST_UPDATE_INTRO, "lines": lost_update_lines(cells)},
        "revocation": {"intro": segments(REVOCATION_INTRO), "lines": revocation_lines(cells)},
        "replication": replication.section(cells),
        "membership": {"intro": membership.INTRO, "lines": membership.paragraphs(cells)},
        "session_life": session_lines.section(cells),
        "balancers": balancers.section(cells),
        "balancer_headers": balancers.HEADERS,
        "figures": [figure(name, title, png) for name, (title, png) in figures.items()],
        "guide": [segments(line.removeprefix("- ")) for line in reading_guide()],
    }


def figure(name: str, title: str, png: bytes) -> dict[str, str]:
    """A figure: its file under plots/ (for report.md) and its data: URI (report.html opens offline)."""
    uri = "data:image/png;base64," + base64.b64encode(png).decode()
    return {"name": name, "title": title, "how_to_read": how_to_read(name), "uri": uri}

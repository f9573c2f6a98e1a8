"""`--results-page`: the report's text as a docs page, headed by when, where and how it was measured."""

from __future__ import annotations

from pathlib import Path

from loadtest.compare.report.render import write_results_page
from loadtest.render.page import machine
from tests.loadtest.compare.report.test_report import write


def test_the_page_carries_date_machine_command_and_the_report_without_its_figures(tmp_path: Path) -> None:
    write(tmp_path)
    page = write_results_page(
        tmp_path / "docs/results/compare.md", tmp_path / "report.md", "sessionlab compare --quick", 98
    )
    text = page.read_text()
    report = (tmp_path / "report.md").read_text()
    assert text.startswith("# Compare results\n")
    assert "- **Command:** `sessionlab compare --quick`" in text and "- **Took:** 98 s" in text
    assert f"{machine()['cores']} cores" in text and "- **Measured:** 20" in text
    assert "](plots/" in report and "](plots/" not in text  # figures stay beside report.md: no broken links in docs/
    first_table_row = next(line for line in report.splitlines() if line.startswith("| "))
    assert first_table_row in text

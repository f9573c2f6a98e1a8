"""A table as a record (headers, alignment, rows of text), rendered by one template for markdown and html."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Table:
    """One table of a report: `align` per column is "l" or "r" (figures right-aligned)."""

    headers: Sequence[str]
    rows: Sequence[Sequence[str]]
    align: str = ""  # one letter per column; missing letters mean "r" after the first column

    def alignment(self) -> list[str]:
        return [self.align[i] if i < len(self.align) else ("l" if i == 0 else "r") for i in range(len(self.headers))]

    def markdown(self) -> str:
        """The table in GitHub markdown, one row per line."""
        rule = ["---" if side == "l" else "---:" for side in self.alignment()]
        lines = [_row(self.headers), _row(rule)] + [_row(row) for row in self.rows]
        return "\n".join(lines)


def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(str(cell).replace("|", "\\|") for cell in cells) + " |"

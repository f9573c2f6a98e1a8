"""A results page (docs/results/<name>.md): the date, the machine and the exact command above a report's tables.

Measured figures are never pasted into the docs by hand: the command that measured them writes the page, and
the page says how to measure them again.
"""

from __future__ import annotations

import os
import platform
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

from loadtest.render.templates import render

TEMPLATES = Path(__file__).resolve().parent / "templates"


def machine() -> dict[str, Any]:
    """CPU model, cores, OS and Python: what a reader needs to compare these numbers with their own."""
    model = _lscpu_model() or platform.processor() or "unknown"
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
    }


def command_line(argv: list[str] | None = None) -> str:
    """The command as the user typed it (`sessionlab compare --quick ...`), for the page to be re-run."""
    args = sys.argv[1:] if argv is None else argv
    return shlex.join(["sessionlab", *args])


def results_page(title: str, tool: str, date: str, command: str, took_s: float, note: str, body: str) -> str:
    """The page's markdown: where, when and how it was measured, then `body` (the command's own tables)."""
    return render(
        TEMPLATES, "results-page.md", title=title, tool=tool, date=date, machine=machine(), command=command,
        took_s=round(took_s), note=note, body=body.rstrip("\n"),
    )  # fmt: skip


def tool_output(argv: list[str]) -> str:
    """What a tool prints (stdout then stderr), or "" when it cannot run."""
    try:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)  # noqa: S603
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return (result.stdout + result.stderr).strip()


def _lscpu_model() -> str | None:
    """The CPU model name as lscpu (util-linux) prints it, where it exists."""
    text = tool_output(["lscpu"])
    return next((line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("Model name")), None)

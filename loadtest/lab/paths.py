"""Paths the user gives or gets by default, made absolute where the user ran the command.

Children (locust, nodes, servers) run in other working directories, so a relative path handed to one lands
somewhere else: every path is resolved here, once, before any child starts.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

LOCUSTFILE = Path(__file__).resolve().parents[1] / "locustfile.py"  # the lab's users, for every locust it starts


def absolute(value: str | Path) -> Path:
    """An argparse `type=` for path options: `~` expanded, resolved against the current directory."""
    return Path(value).expanduser().resolve()


def report_dir(prefix: str = "") -> Path:
    """The default output folder: ./reports/<prefix><timestamp>/ under the directory the command ran in."""
    return absolute(Path("reports") / f"{prefix}{datetime.now():%Y%m%d-%H%M%S}")

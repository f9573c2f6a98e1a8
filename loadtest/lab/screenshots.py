"""The pictures the README and the docs show: the node page through a real balancer (memory + random: found,
then missing) and the top of a report. `python -m loadtest.lab.screenshots [--report DIR] [--out FOLDER]`.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

from loadtest.lab import browser
from loadtest.lab.cluster import ClusterConfig, LocalCluster

DEFAULT_OUT = Path(__file__).resolve().parents[2] / "docs" / "images"  # the README and the docs show them
PAGE_SIZE: Any = {"width": 720, "height": 460}
MAX_RELOADS = 30


def node_page_states(page: Any, url: str, folder: Path) -> list[Path]:
    """Log in, then reload until a node that never saw the session answers; a picture of each state."""
    page.goto(url + "/")
    page.fill("input[name=user]", "ada")
    page.click("form[action='/page/login'] button")
    shots: dict[str, Path] = {}
    for _ in range(MAX_RELOADS):
        state = page.locator("main").get_attribute("data-session")
        if state not in shots:
            shots[state] = folder / f"node-page-{state}.png"
            page.screenshot(path=str(shots[state]))
        if len(shots) == 2:
            break
        page.reload(wait_until="load")
    return list(shots.values())


def node_page(folder: Path) -> list[Path]:
    """Start 3 nodes with memory sessions behind random routing, and photograph the page."""
    with tempfile.TemporaryDirectory(prefix="sessionlab-shots-") as logs:
        config = ClusterConfig(nodes=3, routing="random", store="memory", log_dir=Path(logs))
        with LocalCluster(config) as cluster, browser.chromium() as chromium:
            page = chromium.new_page(viewport=PAGE_SIZE)
            return node_page_states(page, cluster.url, folder)


def report_top(report: Path, folder: Path) -> Path:
    """The top of DIR/report.html at 1,280 x 800."""
    target = folder / "report-top.png"
    look = browser.look_at_file(report / "report.html", screenshot=target)
    for problem in look.problems():
        print(f"screenshots: report.html: {problem}", file=sys.stderr)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtest.lab.screenshots", description=__doc__)
    parser.add_argument("--report", type=Path, help="a report folder (from sessionlab compare) to photograph")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"where the PNGs go (default {DEFAULT_OUT})")
    args = parser.parse_args(argv)
    reason = browser.unavailable()
    if reason:
        print(f"screenshots: {reason}", file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    written = node_page(args.out) + ([report_top(args.report, args.out)] if args.report else [])
    print("\n".join(str(path) for path in written))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

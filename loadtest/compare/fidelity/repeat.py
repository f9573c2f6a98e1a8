"""`sessionlab repeat`: run the same `sessionlab compare` N times and count, per cell, how often it agreed.

One run agreeing with theory proves little: a tolerance of three sigma still lets about one run in 300 disagree
by chance, and a theory that is wrong by a little agrees most of the time. N runs tell the two apart: a cell that
agrees in at least `--bar` of them (19 of 20 by default) holds; one below it is the theory's problem to explain.
Each run is its own `sessionlab compare` process writing to <out>/run-NN[-V]/, so runs share nothing but the machine.
With `--variant` (e.g. closed loop, `--arrival-rate 100`, `--arrival-rate 200`) each round runs every variant in
turn, so a noisy stretch of the machine falls on all of them alike rather than on one.
"""

from __future__ import annotations

import argparse
import json
import math
import shlex
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from loadtest.compare.record.model import DISAGREES
from loadtest.compare.run.progress import signals_interrupt
from loadtest.lab.paths import report_dir
from loadtest.render.format import pct
from loadtest.render.page import command_line, results_page
from loadtest.render.table import Table

EXIT_OK, EXIT_USAGE, EXIT_BELOW_BAR, EXIT_INTERRUPTED = 0, 2, 3, 130
STOP_TIMEOUT = 60.0  # seconds an interrupted compare gets to stop its cluster
DEFAULT_BAR = 0.95  # issue 26: "agrees in >= 19 of 20 repeated runs"
UNJUDGED = ("not modelled", "not offered", "skipped")


@dataclass
class CellTally:
    """One cell across the runs: its verdict and miss rate in each run that ran it."""

    label: str
    verdicts: list[str] = field(default_factory=list)
    miss_rates: list[float] = field(default_factory=list)
    theory_rates: list[float] = field(default_factory=list)
    tolerances: list[float] = field(default_factory=list)
    behind: list[bool] = field(default_factory=list)  # per run: the load generator fell behind its schedule

    @property
    def judged(self) -> int:
        return sum(1 for verdict in self.verdicts if verdict not in UNJUDGED)

    @property
    def agreed(self) -> int:
        return sum(1 for verdict in self.verdicts if verdict == "ok")

    @property
    def disagreed_behind(self) -> int:
        """Runs that disagreed while the generator was behind: the load was not the one theory was given."""
        return sum(1 for verdict, behind in zip(self.verdicts, self.behind, strict=True)
                   if verdict == DISAGREES and behind)  # fmt: skip

    @property
    def not_run(self) -> int:
        return sum(1 for verdict in self.verdicts if verdict not in (*UNJUDGED, "ok", DISAGREES))

    def holds(self, bar: float) -> bool | None:
        """Agreed in at least `bar` of the runs that judged it (None: no run judged it)."""
        return None if not self.judged else self.agreed >= math.ceil(bar * self.judged - 1e-9)


def cell_label(cell: Mapping[str, Any]) -> str:
    """routing / store / scenario, the balancer and load model where they are not the defaults."""
    label = f"{cell.get('store')} / {cell.get('routing')} / {cell.get('scenario')}"
    if cell.get("balancer", "sessionlab") != "sessionlab":
        label += f" / {cell['balancer']}"
    if cell.get("arrival_rate"):
        label += f" / open {float(cell['arrival_rate']):g}/s"
    return label


def tally(runs: Sequence[Sequence[Mapping[str, Any]]]) -> dict[str, CellTally]:
    """Every cell of every run's results.json, grouped by label, in first-seen order."""
    found: dict[str, CellTally] = {}
    for cells in runs:
        for cell in cells:
            label = cell_label(cell)
            entry = found.setdefault(label, CellTally(label))
            entry.verdicts.append(str(cell.get("verdict", "?")))
            entry.behind.append(bool(cell.get("generator_behind")))
            for values, key in ((entry.miss_rates, "miss_rate"), (entry.theory_rates, "expected_miss_rate"),
                                (entry.tolerances, "tolerance")):  # fmt: skip
                if isinstance(cell.get(key), (int, float)):
                    values.append(float(cell[key]))
    return found


def table(found: Mapping[str, CellTally], bar: float) -> Table:
    rows = []
    for entry in found.values():
        holds = entry.holds(bar)
        verdict = "not judged" if holds is None else ("holds" if holds else "BELOW THE BAR")
        rates = entry.miss_rates
        rows.append([
            entry.label, str(len(entry.verdicts)), f"{entry.agreed} of {entry.judged}",
            f"{sum(entry.behind)} ({entry.disagreed_behind} disagreed)" if any(entry.behind) else "0",
            str(len(entry.verdicts) - entry.judged - entry.not_run), str(entry.not_run),
            pct(statistics.median(rates)) if rates else "–",
            f"{pct(min(rates))}–{pct(max(rates))}" if rates else "–",
            pct(statistics.median(entry.theory_rates)) if entry.theory_rates else "–",
            pct(statistics.median(entry.tolerances)) if entry.tolerances else "–", verdict,
        ])  # fmt: skip
    headers = ["cell", "runs", "agreed", "generator behind", "not modelled", "did not run", "miss rate (median)",
               "range", "theory (median)", "± (median)", f"≥ {bar:.0%} agree"]  # fmt: skip
    return Table(headers, rows, "l")


def parse_args(argv: list[str]) -> tuple[argparse.Namespace, list[str]]:
    if "--" in argv:
        index = argv.index("--")
        own, compare = argv[:index], argv[index + 1 :]
    else:
        own, compare = argv, []
    parser = argparse.ArgumentParser(
        prog="sessionlab repeat",
        description="Run one `sessionlab compare` N times and count per cell how often it agreed with theory.",
        epilog="example: sessionlab repeat --runs 20 -- --store memory --routing sticky,random "
        "--scenario steady,node-failure --duration 15",
    )
    parser.add_argument("--runs", type=_runs, default=20, help="how many times to run compare (default 20)")
    parser.add_argument("--bar", type=_fraction, default=DEFAULT_BAR,
                        help=f"the share of runs a cell must agree in (default {DEFAULT_BAR:g}: 19 of 20)")  # fmt: skip
    parser.add_argument("--variant", action="append", default=None, metavar="ARGS",
                        help="extra compare options for one variant (quoted; '' for none); repeat the option to "
                        "run several in turn each round: --variant '' --variant '--arrival-rate 200'")  # fmt: skip
    parser.add_argument("--add", action="append", type=Path, default=[], metavar="DIR",
                        help="count the runs an earlier repeat left in DIR too (--runs 0: only those)")  # fmt: skip
    parser.add_argument("--out", type=Path, default=None, help="folder for run-NN/ and agreement.md")
    parser.add_argument("--results-page", type=Path, default=None, metavar="PAGE",
                        help="also write the table as a dated docs page (e.g. docs/results/agreement.md)")  # fmt: skip
    args = parser.parse_args(own)
    if args.runs == 0 and not args.add:
        parser.error("--runs 0 counts only an earlier repeat's runs: name its folder with --add DIR")
    args.variant = [shlex.split(text) for text in (args.variant or [""])]
    for refused in ("--out", "--results-page", "--strict"):
        if any(item == refused or item.startswith(refused + "=") for item in [*compare, *sum(args.variant, [])]):
            parser.error(f"{refused} after `--` is repeat's to set (each run writes to <out>/run-NN/)")
    return args, compare


def _runs(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 1000:
        raise argparse.ArgumentTypeError(f"expected 0 to 1000 runs, got {text}")
    return value


def _fraction(text: str) -> float:
    value = float(text)
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"expected a share in (0, 1], got {text}")
    return value


def run_once(compare: list[str], out: Path) -> list[dict[str, Any]]:
    """One compare process; its cells (an empty list when it wrote no results.json). On Ctrl-C the run is asked
    to stop as compare stops (SIGINT: it stops every process it started) and waited for, never killed outright."""
    command = [sys.executable, "-m", "loadtest.cli", "compare", *compare, "--out", str(out)]
    out.parent.mkdir(parents=True, exist_ok=True)
    with (out.parent / f"{out.name}.log").open("w") as log, subprocess.Popen(command, stdout=log, stderr=log) as run:
        try:
            run.wait()
        except KeyboardInterrupt:
            if run.poll() is None:
                run.send_signal(signal.SIGINT)  # a terminal's Ctrl-C reached it already; a `kill -INT` did not
            run.wait(timeout=STOP_TIMEOUT)
            raise
    results = out / "results.json"
    return list(json.loads(results.read_text()).get("cells", [])) if results.exists() else []


def earlier_runs(folder: Path) -> list[list[dict[str, Any]]]:
    """The cells of every run an earlier repeat left in `folder` (run-NN[-V]/results.json), in run order."""
    if not folder.is_dir():
        raise SystemExit(f"sessionlab repeat: --add {folder}: not a folder")
    return [
        list(json.loads(results.read_text()).get("cells", [])) for results in sorted(folder.glob("run-*/results.json"))
    ]


def made_by(folder: Path) -> str:
    """How an earlier repeat's runs were made (its command, from its agreement.json), for the page's reader."""
    saved = folder / "agreement.json"
    runs = len(list(folder.glob("run-*/results.json")))
    if saved.exists():
        earlier = json.loads(saved.read_text())
        variants = [f"--variant {shlex.quote(shlex.join(v))}" for v in earlier.get("variants", [])]
        rebuilt = shlex.join(["sessionlab", "repeat", "--runs", str(earlier.get("runs"))])
        rebuilt += "".join(f" {v}" for v in variants) + " -- " + shlex.join(earlier.get("compare", []))
        return f"{runs} runs of `{earlier.get('command', rebuilt)}`"
    return f"{runs} runs in {folder.name}/"


def main(argv: list[str] | None = None) -> int:
    given = sys.argv[1:] if argv is None else argv
    args, compare = parse_args(given)
    out = args.out or report_dir()
    out.mkdir(parents=True, exist_ok=True)
    began = time.monotonic()
    runs: list[list[dict[str, Any]]] = [cells for folder in args.add for cells in earlier_runs(folder)]
    added, interrupted = len(runs), False
    with signals_interrupt():  # SIGTERM like Ctrl-C: the running compare stops its cluster, then the table
        try:
            for number in range(1, args.runs + 1):
                for index, variant in enumerate(args.variant, start=1):
                    suffix = f"-{index}" if len(args.variant) > 1 else ""
                    runs.append(run_once([*compare, *variant], out / f"run-{number:02d}{suffix}"))
                found = tally(runs)
                done = ", ".join(f"{e.label} {e.agreed}/{e.judged}" for e in found.values())
                print(f"sessionlab repeat: run {number}/{args.runs} ({time.monotonic() - began:.0f}s): {done}",
                      flush=True)  # fmt: skip
        except KeyboardInterrupt:
            interrupted = True
    found = tally(runs)
    text = table(found, args.bar).markdown()
    (out / "agreement.md").write_text(text + "\n")
    (out / "agreement.json").write_text(json.dumps({
        "command": command_line(["repeat", *given]), "runs": args.runs, "added": [str(folder) for folder in args.add],
        "bar": args.bar, "compare": compare,
        "variants": args.variant,
        "cells": {label: {"verdicts": e.verdicts, "generator_behind": e.behind, "miss_rates": e.miss_rates,
                          "theory_rates": e.theory_rates,
                          "holds": e.holds(args.bar)} for label, e in found.items()},
    }, indent=2))  # fmt: skip
    print(text, flush=True)
    took = time.monotonic() - began
    if args.results_page is not None:
        page = results_page("Theory across repeated runs", "sessionlab repeat", f"{datetime.now():%Y-%m-%d %H:%M}",
                            command_line(["repeat", *given]), took,
                            "Each run is a fresh `sessionlab compare` process; a cell holds when it agrees with "
                            f"theory in at least {args.bar:.0%} of the runs that judged it."
                            + "".join(f" Counted too: {made_by(folder)}." for folder in args.add), text)  # fmt: skip
        args.results_page.parent.mkdir(parents=True, exist_ok=True)
        args.results_page.write_text(page)
    if interrupted:
        print(f"sessionlab repeat: interrupted after {len(runs)} compare runs; everything stopped; the table above "
              "counts the runs that finished", file=sys.stderr)  # fmt: skip
        return EXIT_INTERRUPTED
    below = [e.label for e in found.values() if e.holds(args.bar) is False]
    print(f"sessionlab repeat: {len(runs)} compare runs counted ({len(runs) - added} run now, in {took:.0f}s); wrote "
          f"{out / 'agreement.md'}", flush=True)  # fmt: skip
    if below:
        print(f"sessionlab repeat: below the bar: {'; '.join(below)}", file=sys.stderr)
        return EXIT_BELOW_BAR
    return EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())

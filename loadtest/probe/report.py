"""report.md, report.html and plots of a probe run: one model, rendered through jinja2 templates as compare's is.

The templates live beside this module; report.html reuses compare's stylesheet and its code-span filter, and
inlines the plots as data: URIs so the page opens offline.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from loadtest.compare.report.render import TEMPLATES as COMPARE_TEMPLATES
from loadtest.compare.report.render import code_spans
from loadtest.probe import plots
from loadtest.render import format
from loadtest.render.templates import environment

TEMPLATES = Path(__file__).resolve().parent / "templates"
ENVIRONMENT = environment(TEMPLATES, COMPARE_TEMPLATES)  # the lab's one jinja2 setup; compare's stylesheet
HTML_ENVIRONMENT = ENVIRONMENT.overlay(finalize=code_spans)


def ms(value: float | None) -> str:
    return f"{format.ms(value)} ms"


def load_warnings(results: dict[str, Any]) -> list[str]:
    """When the probe itself, not the target, set the pace: the figures then describe less load than asked."""
    lines = []
    if results["throttled"]:
        lines.append(f"--max-rate {results['meta']['max_rate']:g}/s held back {results['throttled']} requests "
                     "(logins after misses count too): the target got less than the asked rate")  # fmt: skip
    if results["missed_starts"] or results["late_starts"]:
        lines.append(f"the probe fell behind its schedule: {results['late_starts']} late starts, "
                     f"{results['missed_starts']} never sent")  # fmt: skip
    return lines


def model(results: dict[str, Any], figures: dict[str, bytes]) -> dict[str, Any]:
    """What both templates show, as plain values and rows."""
    meta, theory = results["meta"], results["theory"]
    distinct = results["distinct_nodes_per_session"]
    figures_row = [("Miss rate", format.pct(results["miss_rate"]) + f" ({results['misses']} of "
                    f"{results['session_requests']} session requests)")]  # fmt: skip
    if theory is not None:
        verdict = "agrees" if theory["agrees"] else "DISAGREES"
        figures_row.append(("Theory (compare)", f"{format.pct(theory['expected_miss_rate'])} ± "
                            f"{format.pct(theory['tolerance'])}: measured {verdict}"))  # fmt: skip
    figures_row += [
        ("Backends seen", str(len(results["backends"]))),
        ("Distinct backends per session", f"mean {distinct['mean'] or 0:.2f}, max {distinct['max'] or 0} "
                                          f"over {distinct['sessions']} sessions"),
        ("Re-pins", f"{results['repins']} ({distinct['sessions_repinned']} sessions moved at least once)"),
        ("Latency", f"p50 {ms(results['p50_ms'])}, p99 {ms(results['p99_ms'])}"),
        ("Errors", f"{results['error_count']} ({format.pct(results['error_rate'])} of answers)"),
        ("Synthetic users logged out", f"{results['logged_out'].get('ok', 0)} "
                                       f"(failed: {results['logged_out'].get('failed', 0)})"),
    ]  # fmt: skip
    errors = [
        (status, split.replace("_", "-"), n)
        for split, counts in results["errors"].items()
        for status, n in counts.items()
    ]
    shares = results["backends"].items()
    return {
        "title": f"sessionlab probe: {meta['target']}",
        "setup": f"`{meta['command']}` — {meta['loop']} loop, backend id from `{meta['backend_id']}`, "
        f"check: {meta['check']}; users: " + ", ".join(f"{n} {k}" for k, n in meta["users"].items()),
        "thresholds": results["thresholds"],
        "warnings": load_warnings(results),
        "figures": figures_row,
        "theory": theory,
        "backends": [(node, format.pct(share), results["backend_answers"][node]) for node, share in shares],
        "histogram": list(distinct["histogram"].items()),
        "reasons": sorted(results["miss_reasons"].items(), key=lambda item: -item[1]),
        "errors": errors,
        "events": results["events"],
        "plots": {name: base64.b64encode(png).decode() for name, png in figures.items()},
    }


def write_report(out: Path, results: dict[str, Any]) -> list[Path]:
    """Write plots/*.png, report.md and report.html into `out`; returns the reports' paths."""
    figures = plots.render_all(results)
    (out / "plots").mkdir(parents=True, exist_ok=True)
    for name, png in figures.items():
        (out / "plots" / f"{name}.png").write_bytes(png)
    values = model(results, figures)
    md, page = out / "report.md", out / "report.html"
    md.write_text(ENVIRONMENT.get_template("probe.md").render(values))
    page.write_text(HTML_ENVIRONMENT.get_template("probe.html").render(values))
    return [md, page]


def summary(results: dict[str, Any]) -> str:
    """The few figures printed at the end of a run."""
    values = model(results, {})
    return ENVIRONMENT.get_template("summary.txt").render(values)

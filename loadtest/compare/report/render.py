"""Turning results.json into report.md and a self-contained report.html (plots inlined, nothing fetched).

Also the console summary `sessionlab compare` prints, and the plain-language verdict per store. Columns
come from one table (COLUMNS); optional ones appear only when some cell has the value (lost updates from
concurrent cells, time usable after logout-all from the cells that measured it), and so do their sections.
Regenerate a report from a results.json with `python -m loadtest.compare.report DIR`.
"""

from __future__ import annotations

import base64
import html
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from statistics import median
from typing import Any

from loadtest.compare.report import membership

Cell = dict[str, Any]
STORE_NOTES = {
    "memory": "sessions live in the memory of the node that created them",
    "cookie": "the whole session travels, encrypted, in the client's cookie or token (4 KB at most, "
    "cannot be revoked before it expires)",
    "redis": "every node reads and writes sessions in one shared Redis (which must stay up)",
}


KIND_NAMES = {"browser": "browser users", "app": "app users without cookies"}


def pct(value: Any) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def ms(value: Any) -> str:
    return "-" if value is None else f"{value:g}"


def num(value: Any) -> str:
    return "-" if value is None else f"{value:,}" if isinstance(value, int) else f"{value:,.0f}"


def cell_name(cell: Cell) -> str:
    """store / routing / scenario, plus the consistency mode for concurrent cells (two cells differ only by it)."""
    mode = f" / {cell['consistency']}" if "lost_update_rate" in cell else ""
    return f"{cell['store']} / {cell['routing']} / {cell['scenario']}{mode}"


def lost_text(cell: Cell) -> str:
    if cell.get("lost_update_rate") is None:
        return "-"
    counts = f" ({cell['increments_lost']:,}/{cell['increments_acked']:,})" if "increments_acked" in cell else ""
    return pct(cell["lost_update_rate"]) + counts


def revoked_text(cell: Cell) -> str:
    """How long the other session stayed usable after logout-all, in words a table can hold."""
    details = cell.get("revocation") or {}
    until, usable = details.get("until"), cell.get("revoked_usable_s")
    if until == "expiry":
        return f"until expiry ({details.get('max_age_s', usable)} s idle)"
    if until == "bound":
        return f"≥ {usable:g} s (not revoked)"
    if until == "revoked":
        return f"{usable:g} s"
    return "unclear" if until else "-"


@dataclass(frozen=True)
class Column:
    """One column of the comparison table: the header, how to show a cell's value, shown only if present?"""

    header: str
    show: Callable[[Cell], str]
    optional_key: str | None = None


def _kind_rate(kind: str) -> Callable[[Cell], str]:
    def show(cell: Cell) -> str:
        part = cell.get("by_kind", {}).get(kind, {})
        return pct(part["miss_rate"]) if part.get("session_requests") else "-"

    return show


COLUMNS: list[Column] = [
    Column("store", lambda c: c["store"]),
    Column("routing", lambda c: c["routing"]),
    Column("scenario", lambda c: c["scenario"]),
    Column("requests", lambda c: num(c.get("requests"))),
    Column("rps", lambda c: num(c.get("rps"))),
    Column("p50 ms", lambda c: ms(c.get("p50_ms"))),
    Column("p95 ms", lambda c: ms(c.get("p95_ms"))),
    Column("p99 ms", lambda c: ms(c.get("p99_ms"))),
    Column("miss rate", lambda c: pct(c.get("miss_rate"))),
    Column("theory", lambda c: f"{pct(c.get('expected_miss_rate'))} ± {pct(c.get('tolerance'))}"),
    Column("verdict", lambda c: c.get("verdict", "-")),
    Column("browser miss", _kind_rate("browser")),
    Column("app miss", _kind_rate("app")),
    Column("re-logins", lambda c: num(c.get("relogins"))),
    Column("errors", lambda c: num(c.get("errors"))),
    Column("node share", lambda c: " / ".join(f"{100 * v:.0f}" for v in c.get("node_share", {}).values()) or "-"),
    Column("killed", lambda c: f"{c['killed_node']} at {c['kill_at_s']:.1f}s" if c.get("killed_node") else "-"),
    # the concurrent scenario and the logout-all measurement: shown as soon as a cell carries them
    Column("consistency", lambda c: c["consistency"] if "lost_update_rate" in c else "-", "lost_update_rate"),
    Column("lost updates", lost_text, optional_key="lost_update_rate"),
    Column("409s", lambda c: num(c.get("conflicts_409")), optional_key="lost_update_rate"),
    Column("usable after logout-all", revoked_text, optional_key="revoked_usable_s"),
]


def columns_for(cells: Sequence[Cell]) -> list[Column]:
    return [c for c in COLUMNS if c.optional_key is None or any(c.optional_key in cell for cell in cells)]


def ran(cells: Sequence[Cell]) -> list[Cell]:
    return [c for c in cells if "miss_rate" in c]


def disagreements(cells: Sequence[Cell]) -> list[Cell]:
    return [c for c in cells if c.get("verdict") != "ok"]


# -- plain-language verdicts ------------------------------------------------------------------------------


def store_verdicts(cells: Sequence[Cell]) -> dict[str, str]:
    """One paragraph per store, in the order stores appear, built from the measured numbers."""
    verdicts: dict[str, str] = {}
    for store in dict.fromkeys(c["store"] for c in ran(cells)):
        mine = [c for c in ran(cells) if c["store"] == store]
        verdict = _memory_verdict(mine) if any(c["misses"] for c in mine) else _clean_verdict(store, mine)
        verdicts[store] = verdict + _consistency_text(mine) + _revocation_text(mine)
    return verdicts


def _consistency_text(cells: Sequence[Cell]) -> str:
    """What parallel writes to one session cost in this store, per consistency mode."""
    concurrent = [c for c in cells if c.get("lost_update_rate") is not None]
    if not concurrent:
        return ""
    several = len({c["routing"] for c in concurrent}) > 1  # then say which routing each figure comes from
    modes = [f"{c['consistency']} ({c['routing']})" if several else c["consistency"] for c in concurrent]
    parts = [f"{mode} lost {lost_text(c)}" for mode, c in zip(modes, concurrent, strict=True)]
    return " Parallel writes to one session: " + ", ".join(parts) + " of acknowledged increments."


def _revocation_text(cells: Sequence[Cell]) -> str:
    """How long the user's other session outlived /logout-all in this store."""
    outcomes = list(dict.fromkeys(revoked_text(c) for c in cells if c.get("revocation")))
    if not outcomes:
        return ""
    return f" After /logout-all the user's other session stayed usable: {' / '.join(outcomes)}."


def _latency_text(cells: Sequence[Cell]) -> str:
    p50 = [c["p50_ms"] for c in cells if c.get("p50_ms") is not None]
    p95 = [c["p95_ms"] for c in cells if c.get("p95_ms") is not None]
    if not p50:
        return ""
    return f" Latency (median over its cells): p50 {median(p50):g} ms, p95 {median(p95):g} ms."


def _clean_verdict(store: str, cells: Sequence[Cell]) -> str:
    checked = sum(c["session_requests"] for c in cells)
    killed = any(c.get("killed_node") for c in cells)
    routings = ", ".join(dict.fromkeys(c["routing"] for c in cells))
    errors = sum(c.get("errors", 0) for c in cells)
    text = (
        f"Safe with any routing ({routings}): no session was lost in {checked:,} authenticated requests"
        + (", even when a node was killed mid-run" if killed else "")
        + f". Why: {STORE_NOTES.get(store, store)}."
        + _latency_text(cells)
    )
    if errors:
        text += f" {errors:,} request(s) failed outright (5xx or connection errors), typically in flight at the crash."
    return text


def _memory_verdict(cells: Sequence[Cell]) -> str:
    parts = [f"Loses sessions unless each session's requests reach the node that created it ({STORE_NOTES['memory']})."]
    for routing in dict.fromkeys(c["routing"] for c in cells):
        parts.append(_routing_sentence(routing, [c for c in cells if c["routing"] == routing]))
    parts.append(
        "Bottom line: memory sessions need affinity, i.e. hash routing (pins every client by its session id) or "
        "sticky routing for clients that keep cookies, and even then a node failure logs out that node's users."
    )
    parts.append(_latency_text(cells).strip())
    return " ".join(p for p in parts if p)


def _routing_sentence(routing: str, cells: Sequence[Cell]) -> str:
    steady = [c for c in cells if not c.get("killed_node")]
    base = steady[0] if steady else cells[0]
    kinds = {k: v for k, v in base.get("by_kind", {}).items() if v.get("session_requests")}
    sentence = f"With {routing} routing {pct(base['miss_rate'])} of authenticated requests missed"
    if len(kinds) > 1:
        sentence += " (" + ", ".join(f"{KIND_NAMES.get(k, k)} {pct(v['miss_rate'])}" for k, v in kinds.items()) + ")"
    sentence += f", forcing {base['relogins']:,} re-logins."
    if routing == "sticky" and kinds.get("app", {}).get("miss_rate", 0) > 0.05:
        sentence += " Sticky routing pins clients by a cookie, so clients that keep no cookies are not pinned."
    if routing == "hash":
        users = sum(k.get("users", 0) for k in kinds.values()) or 1
        sentence += f" Hashing pins every client by session id, after ~{base['misses'] / users:.1f} misses per user."
    for cell in cells:
        if cell.get("killed_node"):
            after = ", ".join(f"{n:,} for {KIND_NAMES.get(k, k)}" for k, n in _misses_after_kill(cell).items() if n)
            sentence += f" Killing {cell['killed_node']} mid-run was followed by misses: {after or 'none'}."
    return sentence


def _misses_after_kill(cell: Cell) -> dict[str, int]:
    """Misses per user kind in the seconds from the kill on."""
    kill = cell.get("kill_at_s") or 0.0
    after: dict[str, int] = {}
    for row in cell.get("timeline", []):
        if row["t"] + 1 > kill:
            for kind, (_, missed) in row.get("by_kind", {}).items():
                after[kind] = after.get(kind, 0) + missed
    return after


# -- rendering --------------------------------------------------------------------------------------------


def table_rows(cells: Sequence[Cell]) -> tuple[list[str], list[list[str]]]:
    columns = columns_for(ran(cells))
    return [c.header for c in columns], [[c.show(cell) for c in columns] for cell in ran(cells)]


def warning_lines(cells: Sequence[Cell]) -> list[str]:
    lines = []
    for cell in disagreements(cells):
        if "miss_rate" not in cell:
            lines.append(f"{cell_name(cell)}: did not run ({cell.get('failure', 'unknown reason')})")
            continue
        if not cell.get("miss_agrees_with_theory", False):  # (results from before lost updates lack the key)
            lines.append(
                f"{cell_name(cell)}: measured miss rate {pct(cell['miss_rate'])}, "
                f"theory {pct(cell['expected_miss_rate'])} ± {pct(cell['tolerance'])} "
                f"({cell['misses']} misses, {cell['expected_misses']:g} expected)"
            )
        if cell.get("lost_update_agrees") is False:
            lines.append(
                f"{cell_name(cell)}: {cell['increments_lost']:,} of {cell['increments_acked']:,} acknowledged "
                f"increments lost; theory: exactly {cell['lost_update_expected']} with {cell['consistency']}"
            )
    return lines


def load_warnings(cells: Sequence[Cell]) -> list[str]:
    """Cells whose load did not come from as many locust workers as asked for."""
    return [
        f"{cell_name(c)}: {c.get('load_processes', 0)} locust process(es) sent requests, "
        f"{c['workers_requested']} workers were asked for ({c.get('workers', 0)} connected)"
        for c in ran(cells)
        if c.get("workers_requested") and c.get("load_processes") != c["workers_requested"]
    ]


# -- lost updates and logout-all ------------------------------------------------------------------------


def lost_update_lines(cells: Sequence[Cell]) -> list[str]:
    """One line per concurrent cell: what was acknowledged, what was lost, what theory says."""
    lines = []
    for cell in (c for c in ran(cells) if "lost_update_rate" in c):
        expected = "theory: exactly 0" if cell.get("lost_update_expected") == 0 else "reported, not predicted"
        lines.append(
            f"{cell_name(cell)}: {lost_text(cell)} of acknowledged increments lost in {cell['bursts']:,} bursts "
            f"({cell['conflicts_409']:,} answered 409, {cell['bursts_unverified']:,} bursts not verifiable); "
            f"{expected}. Why: {cell['lost_update_theory']}."
        )
    return lines


LOST_UPDATE_INTRO = (
    "Each concurrent user fires bursts of parallel POST /counter on one session, then reads the counter back. "
    "An increment answered 200 that the stored counter does not show is a lost update; the rate is lost / "
    "acknowledged. 409s are refusals the client was told about, counted apart."
)


def revocation_lines(cells: Sequence[Cell]) -> list[str]:
    """Per store: how long the other client's session stayed usable after /logout-all, and why."""
    lines = []
    for store in dict.fromkeys(c["store"] for c in ran(cells)):
        outcomes: dict[str, list[Cell]] = {}  # routings with the same outcome share one line
        for cell in (c for c in ran(cells) if c["store"] == store and c.get("revocation")):
            outcomes.setdefault(revoked_text(cell), []).append(cell)
        for text, same in outcomes.items():
            routings = ", ".join(c["routing"] for c in same)
            explanations = [c["revocation"]["explanation"] for c in same]
            example = "" if len(set(explanations)) == 1 else "e.g. "
            lines.append(f"{store} ({routings} routing): {text} — {example}{explanations[0]}.")
    return lines


REVOCATION_INTRO = (
    "Two clients log in as the same user, one calls POST /logout-all, and the other polls GET /me through the "
    "balancer: revoked once it is refused 20 times in a row, still usable if it keeps being served. "
    "**Encrypted-cookie sessions cannot be revoked before they expire**: the client holds the whole session, so "
    "logout-all ends only the calling client's copy, and any other copy keeps working until it has gone unused "
    "for SESSION_MAX_AGE (each use re-issues it). Redis sessions end everywhere at once; memory sessions only on "
    "the node that served the logout-all."
)


def render_markdown(results: dict[str, Any], figures: dict[str, tuple[str, bytes]]) -> str:
    cells, meta = results["cells"], results.get("meta", {})
    headers, rows = table_rows(cells)
    out = ["# sessionlab: sticky sessions or shared sessions?", "", _setup_text(meta, cells), ""]
    warnings = warning_lines(cells)
    if warnings:
        out += [f"**WARNING: {len(warnings)} cell(s) disagree with theory:**", ""]
        out += [f"- **{w}**" for w in warnings] + [""]
    out += [f"**WARNING: {w}**" for w in load_warnings(cells)]
    out += ["## Verdict per store", ""]
    out += [f"- **{store}**: {text}" for store, text in store_verdicts(cells).items()] + [""]
    out += ["## Comparison", "", "| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    out += ["| " + " | ".join(row) + " |" for row in rows] + [""]
    if lost := lost_update_lines(cells):
        out += ["## Lost updates (concurrent writes to one session)", "", LOST_UPDATE_INTRO, ""]
        out += [f"- {line}" for line in lost] + [""]
    if revoked := revocation_lines(cells):
        out += ["## Log out everywhere: how long a revoked session stays usable", "", REVOCATION_INTRO, ""]
        out += [f"- {line}" for line in revoked] + [""]
    if changed := membership.paragraphs(cells):
        out += ["## Rolling deploys, scale-out, scale-in", "", membership.INTRO, ""]
        out += [f"- {line}" for line in changed] + [""]
    out += ["## Figures", ""] + [f"![{title}](plots/{name}.png)" for name, (title, _) in figures.items()] + [""]
    out += ["## How to read this report", "", *_reading_guide(), ""]
    return "\n".join(out)


def _load_text(meta: dict[str, Any], cells: Sequence[Cell]) -> str:
    """Who produced the load, as measured: the locust processes whose requests arrived in each cell."""
    workers = meta.get("workers") or 0
    if not workers:
        return "one locust process"
    seen = sorted({c.get("load_processes", 0) for c in ran(cells)})
    counted = " or ".join(str(n) for n in seen) if seen else "?"
    return f"locust master + {workers} workers ({counted} worker processes sent requests in each cell)"


def _users_text(meta: dict[str, Any], cells: Sequence[Cell]) -> str:
    kinds = ", ".join(meta.get("user_kinds", []))
    scenarios = {c.get("scenario") for c in cells}
    if "concurrent" not in scenarios:
        return kinds
    if scenarios == {"concurrent"}:
        return "concurrent users: bursts of parallel increments"
    return f"{kinds}; in concurrent cells, users firing bursts of parallel increments"


def _setup_text(meta: dict[str, Any], cells: Sequence[Cell] = ()) -> str:
    load = _load_text(meta, cells)
    return (
        f"{meta.get('cells', '?')} cells, {meta.get('nodes', '?')} nodes per fresh cluster, "
        f"{meta.get('users', '?')} users ({_users_text(meta, cells)}) for {meta.get('duration', '?')} s "
        f"per cell, load from {load}; started {meta.get('started', '?')}"
        + (f", {meta['wall_s']:.0f} s wall" if meta.get("wall_s") else "")
        + "."
    )


def _reading_guide() -> list[str]:
    return [
        "- **miss rate** = session misses / authenticated requests answered 200 or 401. A miss is an answer "
        "proving the serving node did not see the user's session: a 401, another user's session, or a counter "
        "or cart that went back. After a miss the user logs in again (re-logins).",
        "- **theory** is the miss rate the model in `loadtest/compare/theory.py` expects from this run's own exposure "
        "(users, session requests before and after the kill), with a tolerance of 3 standard deviations plus a "
        "small floor. Cells outside it are flagged: the lab or a service does not behave as we think it does.",
        "- **errors** are real failures (5xx, connection errors), counted apart from misses; latency percentiles "
        "cover HTTP requests only, never the miss events.",
        "- **browser** users keep cookies (session cookie and the balancer's SL_ROUTE affinity); **app** users "
        "have no cookie jar and send their session in the X-Session-Token header.",
        "- **node-failure**: one node is SIGKILLed at the run's midpoint; the balancer's health check ejects it.",
        "- **concurrent** cells run only users that fire bursts of parallel increments on one session, with the "
        "nodes in one SESSION_CONSISTENCY mode. **lost updates** = acknowledged increments missing from the counter "
        "read back / acknowledged increments: with cas theory says exactly 0 and any loss is flagged; with "
        "last_write_wins (the cookie store's only mode) the loss is reported, not predicted.",
        "- **usable after logout-all**: how long another client's session of the same user still worked after "
        'POST /logout-all (polled through the balancer once per store and routing, after the load); "≥ N s" means '
        'it was still served when polling stopped, "until expiry" that a cookie session cannot be revoked.',
    ]


def render_html(results: dict[str, Any], figures: dict[str, tuple[str, bytes]]) -> str:
    cells, meta = results["cells"], results.get("meta", {})
    headers, rows = table_rows(cells)
    esc = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        "<title>sessionlab report</title>",
        f"<style>{CSS}</style></head><body>",
        "<h1>sessionlab: sticky sessions or shared sessions?</h1>",
        f"<p>{esc(_setup_text(meta, cells))}</p>",
    ]
    warnings = warning_lines(cells)
    if warnings:
        items = "".join(f"<li>{esc(w)}</li>" for w in warnings)
        heading = f"<strong>{len(warnings)} cell(s) disagree with theory</strong>"
        parts.append(f'<div class="alarm">{heading}<ul>{items}</ul></div>')
    parts += [f'<div class="alarm">{esc(w)}</div>' for w in load_warnings(cells)]
    parts.append("<h2>Verdict per store</h2><dl>")
    parts += [f"<dt>{esc(store)}</dt><dd>{esc(text)}</dd>" for store, text in store_verdicts(cells).items()]
    parts.append("</dl><h2>Comparison</h2><table><thead><tr>")
    parts += [f"<th>{esc(h)}</th>" for h in headers]
    parts.append("</tr></thead><tbody>")
    for cell, row in zip(ran(cells), rows, strict=True):
        css = "" if cell.get("verdict") == "ok" else ' class="bad"'
        parts.append(f"<tr{css}>" + "".join(f"<td>{esc(v)}</td>" for v in row) + "</tr>")
    parts.append("</tbody></table>")
    if changed := membership.paragraphs(cells):
        parts.append(f"<h2>Rolling deploys, scale-out, scale-in</h2><p>{esc(membership.INTRO)}</p><ul>")
        parts += [f"<li>{esc(line)}</li>" for line in changed] + ["</ul>"]
    if lost := lost_update_lines(cells):
        parts.append(f"<h2>Lost updates (concurrent writes to one session)</h2><p>{esc(LOST_UPDATE_INTRO)}</p><ul>")
        parts += [f"<li>{esc(line)}</li>" for line in lost] + ["</ul>"]
    if revoked := revocation_lines(cells):
        intro = esc(REVOCATION_INTRO).replace("**", "<strong>", 1).replace("**", "</strong>", 1)
        parts.append(f"<h2>Log out everywhere: how long a revoked session stays usable</h2><p>{intro}</p><ul>")
        parts += [f"<li>{esc(line)}</li>" for line in revoked] + ["</ul>"]
    parts.append("<h2>Figures</h2>")
    for title, png in figures.values():
        data = base64.b64encode(png).decode()
        parts.append(f'<figure><img alt="{esc(title)}" src="data:image/png;base64,{data}"><figcaption>{esc(title)}'
                     "</figcaption></figure>")  # fmt: skip
    parts.append("<h2>How to read this report</h2><ul>")
    parts += [f"<li>{esc(line[2:]).replace('**', '')}</li>" for line in _reading_guide()]
    parts.append("</ul></body></html>")
    return "\n".join(parts)


CSS = """
body { font-family: system-ui, sans-serif; margin: 2em; max-width: 1400px; color: #222; }
table { border-collapse: collapse; font-size: 13px; }
th, td { border: 1px solid #ccc; padding: 3px 7px; text-align: right; }
th { background: #f0f0f0; } td:nth-child(-n+3) { text-align: left; }
tr.bad td { background: #fde0dc; font-weight: bold; }
.alarm { border: 3px solid #cc3311; background: #fde0dc; padding: 0.5em 1em; margin: 1em 0; }
dt { font-weight: bold; margin-top: 0.6em; } figure { margin: 1.5em 0; } img { max-width: 100%; }
"""


def console_summary(cells: Sequence[Cell]) -> str:
    """The comparison as aligned text, with disagreements shouted."""
    headers, rows = table_rows(cells)
    keep = [i for i, h in enumerate(headers) if h not in ("browser miss", "app miss", "node share", "killed")]
    table = [[headers[i] for i in keep]] + [[row[i] for i in keep] for row in rows]
    widths = [max(len(r[i]) for r in table) for i in range(len(keep))]
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
    from loadtest.compare.report import plots  # matplotlib is slow to import: only when drawing

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
    for path in write_report(out, results):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

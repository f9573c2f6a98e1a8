"""report.md and report.html from generated results: complete, loud about disagreements, fully offline."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from loadtest.compare import report
from tests.loadtest.compare.generated import concurrent_cell, matrix
from tests.loadtest.compare.report.reading import numbers

# a URL with a host, a src/href that is not inline data or a fragment, a CSS import or url(): all fetch something
NETWORK = re.compile(
    r"""(https?:|ftp:|wss?:)?//[\w.-]+\.\w|\b(src|href)\s*=\s*(?!["']?(data:|\#))|@import|url\(""", re.IGNORECASE
)


def write(tmp_path: Path) -> dict[str, Any]:
    meta = {"cells": 6, "nodes": 3, "users": 30, "duration": 10.0, "user_kinds": ["browser", "app"]}
    results: dict[str, Any] = {"meta": meta, "cells": matrix()}
    report.write_results(tmp_path, results["meta"], results["cells"])
    report.write_report(tmp_path, results)
    return results


def test_report_files_exist_and_results_json_round_trips(tmp_path: Path) -> None:
    results = write(tmp_path)
    assert json.loads((tmp_path / "results.json").read_text())["cells"] == json.loads(json.dumps(results["cells"]))
    for name in ("report.md", "report.html", "plots/misses.png", "plots/timelines.png", "plots/latency.png",
                 "plots/shares.png"):  # fmt: skip
        assert (tmp_path / name).stat().st_size > 0, name


def test_html_is_self_contained(tmp_path: Path) -> None:
    write(tmp_path)
    page = (tmp_path / "report.html").read_text()
    assert NETWORK.search(page) is None, NETWORK.search(page)
    assert page.count('src="data:image/png;base64,') == 4
    assert "<script" not in page and "<link" not in page


def test_network_pattern_catches_what_it_must() -> None:
    for bad in ('<img src="https://cdn.example.com/x.png">', '<link href="//fonts.example.org/a.css">',
                "<style>@import 'x.css'</style>", "background: url(x.png)", '<script src="app.js">'):  # fmt: skip
        assert NETWORK.search(bad), bad
    assert NETWORK.search('<img src="data:image/png;base64,AAAA">') is None


def test_disagreements_are_loud_everywhere(tmp_path: Path) -> None:
    write(tmp_path)
    md = (tmp_path / "report.md").read_text()
    page = (tmp_path / "report.html").read_text()
    console = report.console_summary(matrix())
    for text in (md, page, console):
        assert "memory / hash / steady" in text and re.search("disagree", text, re.I)
    assert 'class="alarm"' in page and 'class="bad"' in page
    assert "DISAGREE WITH THEORY" in console


def test_verdicts_speak_plainly_per_store() -> None:
    verdicts = report.store_verdicts(matrix())
    assert set(verdicts) == {"redis", "cookie", "memory"}
    assert verdicts["redis"].startswith("Safe with any routing") and "killed" in verdicts["redis"]
    assert "random routing" in verdicts["memory"] and "re-logins" in verdicts["memory"]


def test_optional_columns_appear_only_with_data() -> None:
    cells = matrix()
    headers, _ = report.table_rows(cells)
    assert "lost updates" not in headers
    cells[0]["lost_update_rate"] = 0.25
    headers, rows = report.table_rows(cells)
    assert "lost updates" in headers and "25.0%" in rows[0]


def concurrent_results() -> dict[str, Any]:
    cells = [
        concurrent_cell("redis", "cas", acked=500, lost=0),
        concurrent_cell("redis", "last_write_wins", acked=500, lost=410),
        concurrent_cell("cookie", "last_write_wins", acked=500, lost=450),
    ]
    cells[0].update(revoked_usable_s=0.0, revocation={"until": "revoked", "explanation": "revoked at once"})
    cells[2].update(revoked_usable_s=1800, revocation={"until": "expiry", "max_age_s": 1800, "explanation": "holds it"})
    meta = {"cells": 3, "nodes": 3, "users": 30, "duration": 10.0, "user_kinds": ["browser", "app"], "workers": 2}
    return {"meta": meta, "cells": cells}


def test_lost_updates_and_logout_all_get_columns_and_sections(tmp_path: Path) -> None:
    results = concurrent_results()
    headers, rows = report.table_rows(results["cells"])
    assert {"consistency", "lost updates", "409s", "usable after logout-all"} <= set(headers)
    column = dict(zip(headers, zip(*rows, strict=True), strict=True))
    assert column["lost updates"] == ("0.0% (0/500)", "82.0% (410/500)", "90.0% (450/500)")
    usable = column["usable after logout-all"]
    assert usable[:2] == ("0 s", "-") and "expiry" in usable[2] and numbers(r"# s idle", usable[2]) == [(1800,)]
    report.write_results(tmp_path, results["meta"], results["cells"])
    report.write_report(tmp_path, results)
    md, page = (tmp_path / "report.md").read_text(), (tmp_path / "report.html").read_text()
    for text in (md, page):
        assert "Lost updates" in text and "reported, not predicted" in text and "theory: exactly 0" in text
        assert "cannot be revoked before they expire" in text
    assert (tmp_path / "plots" / "lost_updates.png").stat().st_size > 0
    verdicts = report.store_verdicts(results["cells"])
    lost = r"\w+ lost #% \(#/#\)"
    assert numbers(lost, verdicts["cookie"]) == [(90.0, 450, 500)] and "until expiry" in verdicts["cookie"]
    assert numbers(lost, verdicts["redis"]) == [(0.0, 0, 500), (82.0, 410, 500)]
    assert re.findall(r"(\w+) lost [\d.]+%", verdicts["redis"]) == ["cas", "last_write_wins"]


def test_a_lost_update_under_cas_is_loud() -> None:
    cells = [concurrent_cell("redis", "cas", acked=500, lost=2)]
    lines = report.warning_lines(cells)
    [line] = lines
    assert line.startswith("redis / sticky / concurrent / cas:") and "acknowledged increments lost" in line
    assert numbers(r"# of # acknowledged", line) == [(2, 500)] and "theory: exactly 0" in line
    assert "DISAGREE WITH THEORY" in report.console_summary(cells)


def test_the_report_says_how_many_workers_produced_the_load() -> None:
    results = concurrent_results()
    for cell in results["cells"]:
        cell.update(workers_requested=2, load_processes=2)
    md = report.render_markdown(results, {})
    assert numbers(r"locust master \+ # workers \(# worker processes sent requests", md) == [(2, 2)]
    assert "WARNING" not in md
    results["cells"][1]["load_processes"] = 1
    md = report.render_markdown(results, {})
    assert numbers(r"# locust process\(es\) sent requests, # workers were asked for", md) == [(1, 2)]

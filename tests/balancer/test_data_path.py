"""The compiled data path: a build is used only for the very source it was compiled from, the process says which
data path it runs, and a missing or failed build is one line, never a crash or a stale build."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

import balancer
from balancer.compile_data_path import prune
from balancer.data_path import (
    BUILD_RECORD,
    COMPILED,
    COMPILED_MODULES,
    EXTENSION,
    INTERPRETED,
    PROJECT_ROOT,
    build_key,
    select,
    source_files,
)
from loadtest.lab.launcher import child_env
from loadtest.lab.processes import ManagedProcess, free_port
from tests.balancer.test_main import processes, start_balancer_process  # noqa: F401  (a fixture and its helper)


@pytest.fixture
def empty_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """SESSIONLAB_CACHE at an empty folder, for this process and the processes it starts."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("SESSIONLAB_CACHE", str(cache))
    saved = list(sys.path)
    yield cache
    sys.path[:] = saved


def copy_sources(target: Path) -> Path:
    for relative in source_files():
        (target / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(PROJECT_ROOT / relative, target / relative)
    return target


def test_a_build_belongs_to_one_exact_source(tmp_path: Path) -> None:
    copy = copy_sources(tmp_path / "copy")
    assert build_key(copy) == build_key(PROJECT_ROOT)
    for edited in ("balancer/reader.py", "balancer/routing/hash.py", "nodes/contract/names.py"):
        original = (copy / edited).read_bytes()
        (copy / edited).write_bytes(original + b"\n# edited\n")
        assert build_key(copy) != build_key(PROJECT_ROOT), edited
        (copy / edited).write_bytes(original)


def test_select_puts_a_matching_build_ahead_of_the_source_and_nothing_else(empty_cache: Path) -> None:
    package_path = ["/the/source/balancer"]
    missing = select(package_path, {})
    assert (missing.kind, package_path) == (INTERPRETED, ["/the/source/balancer"])
    assert "sessionlab build-balancer" in missing.reason
    build = empty_cache / "balancer-data-path" / build_key()
    (build / "balancer").mkdir(parents=True)
    (build / BUILD_RECORD).write_text("{}")
    for name in COMPILED_MODULES[1:]:  # one module short: a build half removed, or half copied
        (build / "balancer" / f"{name}{EXTENSION}").write_bytes(b"")
    assert select(list(package_path), {}).kind == INTERPRETED
    (build / "balancer" / f"{COMPILED_MODULES[0]}{EXTENSION}").write_bytes(b"")
    assert select(list(package_path), {"BALANCER_DATA_PATH": INTERPRETED}).kind == INTERPRETED
    found = select(package_path, {})
    assert (found.kind, found.build) == (COMPILED, build)
    assert package_path == [str(build / "balancer"), "/the/source/balancer"]
    assert sys.path[-1] == str(build)  # where mypyc's shared library is imported from


@pytest.mark.skipif(balancer.DATA_PATH.kind != COMPILED, reason=f"no compiled build here: {balancer.DATA_PATH.reason}")
async def test_the_balancer_process_runs_the_build_and_says_which(
    processes: list[ManagedProcess],  # noqa: F811
    tmp_path: Path,
) -> None:
    for wanted, kind in (("auto", COMPILED), (COMPILED, COMPILED), (INTERPRETED, INTERPRETED)):
        folder = tmp_path / wanted
        folder.mkdir()
        _, url = await start_balancer_process(processes, folder, ["http://127.0.0.1:9"], BALANCER_DATA_PATH=wanted)
        async with aiohttp.ClientSession() as session, session.get(url + "/_balancer/status") as response:
            assert (await response.json())["data_path"] == kind, wanted
        assert f"data path {kind}" in (folder / "balancer.log").read_text()


def test_compiled_required_without_a_build_is_one_line_and_status_2(empty_cache: Path) -> None:
    env = child_env(BALANCER_UPSTREAMS="http://127.0.0.1:9", BALANCER_PORT=str(free_port()))
    done = subprocess.run([sys.executable, "-m", "balancer"], env={**env, "BALANCER_DATA_PATH": COMPILED},
                          cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "sessionlab balancer: BALANCER_DATA_PATH=compiled, but no compiled build of this source; "
        "`sessionlab build-balancer` compiles it"
    ]


def test_a_failed_build_is_one_line_and_publishes_nothing(empty_cache: Path) -> None:
    command = [sys.executable, "-m", "loadtest.cli", "build-balancer"]
    status = subprocess.run([*command, "--status"], capture_output=True, text=True, timeout=60, cwd=PROJECT_ROOT)
    assert status.returncode == 1 and status.stdout.startswith("sessionlab build-balancer: not built: ")
    env = {**os.environ, "CC": "false"}  # a C compiler that fails: what a machine without one meets, sooner
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600, cwd=PROJECT_ROOT)
    assert done.returncode == 1
    [line] = done.stderr.strip().splitlines()
    builds = empty_cache / "balancer-data-path"
    assert line == (
        "sessionlab build-balancer: mypyc failed (exit 1): the C compiler (false) failed "
        f"(its output: {builds / 'last-failure.log'}); the balancer runs interpreted"
    )
    assert [path.name for path in builds.iterdir()] == ["last-failure.log"]  # no build published, no scratch left


def test_a_build_records_what_it_was_made_from() -> None:
    if balancer.DATA_PATH.build is None:
        pytest.skip(f"no compiled build here: {balancer.DATA_PATH.reason}")
    record = json.loads((balancer.DATA_PATH.build / BUILD_RECORD).read_text())
    # one build serves every patch release of a Python (the key is its ABI tag): the record says which made it
    assert record["key"] == build_key() and record["python"].split(".")[:2] == sys.version.split(".")[:2]
    assert record["modules"] and all(name.startswith("balancer.") for name in record["modules"])


def test_only_the_newest_builds_are_kept(tmp_path: Path) -> None:
    for age in range(5):
        build = tmp_path / f"cpython-311-{age}"
        build.mkdir()
        (build / BUILD_RECORD).write_text("{}")
        os.utime(build / BUILD_RECORD, (1_000_000 - age, 1_000_000 - age))
    (tmp_path / "last-failure.log").write_text("kept: not a build")
    removed = prune(tmp_path, keep=2)
    assert sorted(path.name for path in removed) == ["cpython-311-2", "cpython-311-3", "cpython-311-4"]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["cpython-311-0", "cpython-311-1", "last-failure.log"]

"""Run the suite on the data path users run: compile this source's balancer build before any test imports it.

Registered from the root conftest; its `pytest_configure` runs before the test packages' conftests import the
data path. The pytest-xdist controller builds (its workers start after it and find the build); every process then
selects the build. Without a compiler or mypyc the suite runs interpreted and the header says why;
`BALANCER_DATA_PATH=interpreted python -m pytest` runs the source itself.
"""

from __future__ import annotations

import os
import sys

import pytest

import balancer
from balancer.data_path import COMPILED, COMPILED_MODULES, DATA_PATH_ENV, INTERPRETED, select

_outcome: list[str] = []


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    if os.environ.get(DATA_PATH_ENV) == INTERPRETED:
        return
    if "PYTEST_XDIST_WORKER" not in os.environ:
        from balancer.compile_data_path import BuildError, build

        try:
            built = build()
        except BuildError as error:
            _outcome.append(f"not compiled: {error}")
            return
        _outcome.append(f"compiled in {built.seconds:.1f} s" if built.fresh else "build found")
    imported = [name for name in COMPILED_MODULES if f"balancer.{name}" in sys.modules]
    if balancer.DATA_PATH.kind != COMPILED and not imported:  # selected before the build existed: again
        balancer.DATA_PATH = select(balancer.__path__)


def pytest_report_header(config: pytest.Config) -> str:
    path = balancer.DATA_PATH
    return f"balancer data path: {path.kind} ({path.reason}){'; ' + _outcome[0] if _outcome else ''}"

"""Run the suite on the data path users run: compile this source's balancer build before any test imports it.

Registered from the root conftest, so it is imported right after it and before any test package's conftest
(tests/balancer/conftest.py imports the data path). It builds when it is imported: a `pytest_configure` hook
would run after the conftests of the folder a run names. The pytest-xdist controller builds; its workers start
after it and find the build. Without a compiler or mypyc the suite runs interpreted and the header says why;
`BALANCER_DATA_PATH=interpreted python -m pytest` runs the source itself.
"""

from __future__ import annotations

import os
import sys

import pytest

import balancer
from balancer.compile_data_path import BuildError, build
from balancer.data_path import COMPILED, COMPILED_MODULES, DATA_PATH_ENV, INTERPRETED, select


def prepare() -> str:
    """Build (unless a worker, or the source is asked for), then select the build if this process has not
    imported a data-path module yet; returns what happened, for the header."""
    if os.environ.get(DATA_PATH_ENV) == INTERPRETED:
        return ""
    outcome = ""
    if "PYTEST_XDIST_WORKER" not in os.environ:
        try:
            built = build()
        except BuildError as error:
            return f"not compiled: {error}"
        outcome = built.summary
    imported = [name for name in COMPILED_MODULES if f"balancer.{name}" in sys.modules]
    if balancer.DATA_PATH.kind != COMPILED and not imported:  # selected before the build existed: again
        balancer.DATA_PATH = select(balancer.__path__)
    return outcome


OUTCOME = prepare()


def pytest_report_header(config: pytest.Config) -> str:
    path = balancer.DATA_PATH
    return f"balancer data path: {path.kind} ({path.reason}){'; ' + OUTCOME if OUTCOME else ''}"

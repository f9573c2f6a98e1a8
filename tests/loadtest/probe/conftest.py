"""A running copy of the tiny test app (tests/loadtest/probe/app.py) for the probe to judge."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from loadtest.lab.probe import get_json
from loadtest.lab.processes import ManagedProcess, free_ports, wait_until


@dataclass(frozen=True)
class App:
    url: str

    def stats(self) -> dict[str, int]:
        document = get_json(self.url + "/stats")
        assert isinstance(document, dict)
        return document


@pytest.fixture
def app(tmp_path) -> Iterator[App]:  # type: ignore[no-untyped-def]
    port, elsewhere = free_ports(2)
    argv = [sys.executable, "-m", "tests.loadtest.probe.app", str(port), str(elsewhere)]
    process = ManagedProcess("probe-test-app", argv, log_path=tmp_path / "app.log").start()
    try:
        url = f"http://127.0.0.1:{port}"
        assert wait_until(lambda: get_json(url + "/stats") is not None, 20), process.log_tail()
        yield App(url)
    finally:
        process.stop()

"""Bad-input suite set-up: hypothesis profiles and a real cluster per test module.

Profiles (chosen by the SESSIONLAB_FUZZ environment variable):
- `fast` (default, for CI): FAST_EXAMPLES examples per test, derandomized, so every run sends the same requests;
- `long` (`SESSIONLAB_FUZZ=long`): LONG_EXAMPLES examples per test (over 10,000 generated cases in all), random.

    SESSIONLAB_FUZZ=long .venv/bin/python -m pytest tests/fuzz -q
"""

from __future__ import annotations

import functools
import os
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar, cast

import pytest
from hypothesis import HealthCheck, settings

from tests.fuzz.support import FuzzCluster, assert_no_traceback_logged, assert_victims_untouched

FAST_EXAMPLES = 30
LONG_EXAMPLES = 1300
_SLOW_DATA = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example]

settings.register_profile(
    "fast", max_examples=FAST_EXAMPLES, derandomize=True, deadline=None, database=None, suppress_health_check=_SLOW_DATA
)
settings.register_profile(
    "long", max_examples=LONG_EXAMPLES, deadline=None, database=None, suppress_health_check=_SLOW_DATA
)
PROFILE = "long" if os.environ.get("SESSIONLAB_FUZZ", "").strip().lower() == "long" else "fast"
settings.load_profile(PROFILE)

EXAMPLES: Counter[str] = Counter()  # examples run per test, reported after each module
F = TypeVar("F", bound=Callable[..., Any])


def counted(test: F) -> F:
    """Count the examples a hypothesis test runs (put it under @given)."""

    @functools.wraps(test)
    def run(*args: Any, **kwargs: Any) -> Any:
        EXAMPLES[test.__name__] += 1
        return test(*args, **kwargs)

    return cast(F, run)


@pytest.fixture(scope="module")
def fuzz(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FuzzCluster]:
    """The cluster under attack, started once per module, with its victims and attackers logged in.

    Its teardown, after the module's last test whichever tests ran and in whatever order, checks what no attack
    may do: change a victim's session, or make any process log a traceback. Both need the cluster still running;
    a failed check is reported as an ERROR at teardown of the module's last test, and the cluster stops anyway.
    """
    log_dir: Path = tmp_path_factory.mktemp(f"fuzz-{request.module.__name__.rsplit('.', 1)[-1]}")
    cluster = FuzzCluster(log_dir).start()
    try:
        yield cluster
        assert_victims_untouched(cluster)
        assert_no_traceback_logged(cluster)
    finally:
        cluster.stop()
        report_examples(request, cluster)


def report_examples(request: pytest.FixtureRequest, cluster: FuzzCluster) -> None:
    """One line after the module: examples run per test, and fuzzed requests sent."""
    tests = {name: EXAMPLES[name] for name in dir(request.module) if name in EXAMPLES}
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is not None and capture is not None and tests:
        with capture.global_and_fixture_disabled():
            reporter.write_line(
                f"\n{request.module.__name__} ({PROFILE} profile): {sum(tests.values())} examples, "
                f"{cluster.requests_sent} fuzzed requests; per test: {tests}"
            )

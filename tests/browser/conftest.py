"""A real headless Chromium (the system's, driven by Playwright) for the browser tests; skipped where none exists."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from loadtest.lab import browser as chromium


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    """One Chromium for the browser tests (each test opens its own context: no cookies shared between tests).

    Package scope, not session: while Playwright's sync API is open, its event loop counts as running in this
    thread, and every asyncio test after it would fail ("Cannot run the event loop while another loop is running").
    """
    reason = chromium.unavailable()
    if reason:
        pytest.skip(f"no headless browser: {reason}")
    with chromium.chromium() as launched:
        yield launched


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh page at laptop size in its own context (own cookie jar)."""
    context = browser.new_context(viewport=chromium.LAPTOP)
    yield context.new_page()
    context.close()

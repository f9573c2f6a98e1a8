"""A real headless Chromium, driven with Playwright's Python package, to look at pages as a user would.

Playwright's own browser download is not used: it launches the system's Chromium (Debian's `chromium`) by
path. `unavailable()` says in one line why no browser can be had, so callers can skip or say so instead
of failing. `inspect()` loads a page at a laptop's size and collects what a user would notice broken:
console errors, images that do not decode, content wider than the window.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # playwright is in the `test` extra: imported only when a browser is launched
    from playwright.sync_api import Browser, Page, ViewportSize

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"]
LAPTOP: ViewportSize = {"width": 1280, "height": 800}
INSTALL_HINT = "pip install playwright (never `playwright install`) and apt-get install chromium"

# Every <img> that has not decoded to a picture, by its alt text.
BROKEN_IMAGES_JS = "() => Array.from(document.images).filter(i => !i.complete || i.naturalWidth === 0).map(i => i.alt)"
WIDTHS_JS = "() => [document.scrollingElement.scrollWidth, document.scrollingElement.clientWidth]"


def chromium_path() -> Path | None:
    """The system's Chromium executable, if there is one on PATH."""
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return Path(found)
    return None


def unavailable() -> str | None:
    """Why no headless browser can be launched here, in one line; None when one can."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return f"the playwright package is not installed ({INSTALL_HINT})"
    if chromium_path() is None:
        return f"no Chromium found on PATH (looked for {', '.join(CHROMIUM_NAMES)}; {INSTALL_HINT})"
    return None


@contextmanager
def chromium() -> Iterator[Browser]:
    """A headless Chromium for the duration of the block; raises RuntimeError when none is available."""
    reason = unavailable()
    if reason:
        raise RuntimeError(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium_path()), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class PageLook:
    """What a user would notice on a loaded page: console errors, broken images, a horizontal scroll bar."""

    console_errors: list[str] = field(default_factory=list)
    broken_images: list[str] = field(default_factory=list)
    images: int = 0
    scroll_width: int = 0
    client_width: int = 0

    @property
    def overflows(self) -> bool:
        return self.scroll_width > self.client_width

    def problems(self) -> list[str]:
        """Each problem as a sentence; empty when the page looks right."""
        found = [f"console error: {text}" for text in self.console_errors]
        found += [f"image does not decode: {alt or '(no alt)'}" for alt in self.broken_images]
        if self.overflows:
            found.append(f"horizontal overflow: content {self.scroll_width} px wide in a {self.client_width} px window")
        return found


def watch_console(page: Page, look: PageLook) -> None:
    """Record console errors and uncaught exceptions into `look` from now on."""
    page.on("console", lambda message: _console(message, look))
    page.on("pageerror", lambda error: look.console_errors.append(str(error)))


def _console(message: Any, look: PageLook) -> None:
    if message.type == "error":
        look.console_errors.append(message.text)


def inspect(page: Page, url: str) -> PageLook:
    """Load `url` in `page` (console watched from the start) and look at it as it finished loading."""
    look = PageLook()
    watch_console(page, look)
    page.goto(url, wait_until="load")
    measure(page, look)
    return look


def measure(page: Page, look: PageLook) -> None:
    """Fill in the images and widths of the page as it is now."""
    look.images = page.evaluate("() => document.images.length")
    look.broken_images = list(page.evaluate(BROKEN_IMAGES_JS))
    look.scroll_width, look.client_width = page.evaluate(WIDTHS_JS)


def look_at_file(html: Path, screenshot: Path | None = None) -> PageLook:
    """Open a local HTML file at 1,280 x 800 and look at it; optionally save the top of the page as a PNG."""
    with chromium() as browser:
        page = browser.new_page(viewport=LAPTOP)
        look = inspect(page, html.resolve().as_uri())
        if screenshot is not None:
            page.screenshot(path=str(screenshot))
        return look

"""report.png: the top of report.html as headless Chromium shows it at 1,280 x 800, written beside the report.

Taken only where a browser is available (Playwright's package and the system's Chromium); otherwise the
compare command says why in one line. The same look also reports what a user would see broken.
"""

from __future__ import annotations

from pathlib import Path

from loadtest.lab import browser


def write_screenshot(out: Path) -> str:
    """Screenshot out/report.html into out/report.png; one line saying what happened, for the console."""
    reason = browser.unavailable()
    if reason:
        return f"no report.png: {reason}"
    png = out / "report.png"
    try:
        look = browser.look_at_file(out / "report.html", screenshot=png)
    except Exception as error:  # noqa: BLE001 - a browser that fails to start must not fail the run
        return f"no report.png: Chromium failed: {str(error).splitlines()[0]}"
    problems = look.problems()
    return f"wrote {png}" + (f"; the page has problems: {'; '.join(problems)}" if problems else "")

"""What every figure shares: matplotlib on its Agg backend (no display, no network), the colours, PNG bytes out."""

from __future__ import annotations

import io
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 - the backend must be chosen first
from matplotlib.figure import Figure  # noqa: E402

Cell = dict[str, Any]
OK_COLOR, BAD_COLOR, KILL_COLOR = "#4477aa", "#cc3311", "#cc3311"
KIND_STYLES = {
    "browser": {"color": OK_COLOR, "marker": ".", "linewidth": 1},
    "app": {"color": "#ee7733", "marker": "x", "markersize": 4, "linewidth": 1, "linestyle": "dotted"},
}
PERCENTILE_COLORS = {"p50_ms": "#88ccee", "p95_ms": "#4477aa", "p99_ms": "#332288"}


def to_png(figure: Figure) -> bytes:
    """The figure as PNG bytes, without the matplotlib version in its metadata (same data, same bytes)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=96, bbox_inches="tight", metadata={"Software": None})
    plt.close(figure)
    return buffer.getvalue()


__all__ = ["BAD_COLOR", "KILL_COLOR", "KIND_STYLES", "OK_COLOR", "PERCENTILE_COLORS", "Cell", "plt", "to_png"]

"""How the lab writes numbers for people: one function per kind of figure, the same in every report."""

from __future__ import annotations

MISSING = "-"  # a figure that was not measured


def ms(value: float | None) -> str:
    """Milliseconds to three significant digits (22.2, 1.64), whole from 100 on (1,234): HDR percentiles carry
    microseconds that only make a reader's eye stumble."""
    if value is None:
        return MISSING
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def pct(fraction: float | None) -> str:
    """A fraction as a percentage with one decimal (0.216 -> 21.6%): miss and error rates."""
    return MISSING if fraction is None else f"{100 * fraction:.1f}%"


def share(fraction: float | None) -> str:
    """A fraction as a whole percentage (0.42 -> 42%): shares of CPU, of load, of the machine."""
    return MISSING if fraction is None else f"{fraction:.0%}"


def count(value: float | None) -> str:
    """A count or a rate, whole, with thousands separators (1,234; 1,140 req/s)."""
    if value is None:
        return MISSING
    return f"{value:,}" if isinstance(value, int) else f"{value:,.0f}"


def ratio(value: float | None) -> str:
    """A ratio of two measurements, two decimals (0.85 × nginx)."""
    return MISSING if value is None else f"{value:.2f}"


def size(n_bytes: float | None) -> str:
    """Bytes for people: 512 B, 4.0 KB, 1.5 MB (powers of 1,024, as memory and cookie limits are stated)."""
    if n_bytes is None:
        return MISSING
    value = float(n_bytes)
    for unit in ("B", "KB", "MB"):
        if abs(value) < 1024 or unit == "MB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


FILTERS = {"ms": ms, "pct": pct, "share": share, "count": count, "ratio": ratio, "size": size}

"""The probe's timelines as PNG bytes: miss rate and re-pins per second, backend shares, events as vertical lines."""

from __future__ import annotations

from typing import Any

from loadtest.compare.report.figures.canvas import BAD_COLOR, KILL_COLOR, OK_COLOR, plt, to_png

Axes = Any


def _events(axes: Axes, results: dict[str, Any]) -> None:
    for event in results["events"]:
        axes.axvline(event["at_s"], color=KILL_COLOR, linestyle="--", linewidth=1)
        axes.annotate(event["label"][:40], (event["at_s"], 1.0), xycoords=("data", "axes fraction"),
                      rotation=90, va="top", ha="right", fontsize=7, color=KILL_COLOR)  # fmt: skip


def timeline(results: dict[str, Any]) -> bytes:
    """Miss rate per second (left axis) and re-pins per second (right axis)."""
    rows = results["timeline"]
    ts = [row["t"] for row in rows]
    rates = [row["misses"] / row["session_requests"] if row["session_requests"] else None for row in rows]
    figure, axes = plt.subplots(figsize=(9, 3.2))
    axes.plot(ts, [r if r is not None else float("nan") for r in rates], color=BAD_COLOR, marker=".", label="miss rate")
    axes.set_ylim(0, 1.05)
    axes.set_ylabel("miss rate")
    axes.set_xlabel("seconds since the load began")
    right = axes.twinx()
    right.bar(ts, [row["repins"] for row in rows], color=OK_COLOR, alpha=0.3, label="re-pins")
    right.set_ylabel("re-pins per second")
    _events(axes, results)
    axes.set_title("Session misses and re-pins over time")
    axes.grid(alpha=0.3)
    return to_png(figure)


def backends(results: dict[str, Any]) -> bytes:
    """Each backend's share of the answers, per second, stacked."""
    rows = results["timeline"]
    ts = [row["t"] for row in rows]
    names = sorted({name for row in rows for name in row["backends"]})
    figure, axes = plt.subplots(figsize=(9, 3.2))
    if names:
        totals = [sum(row["backends"].values()) or 1 for row in rows]
        shares = [
            [row["backends"].get(name, 0) / total for row, total in zip(rows, totals, strict=True)] for name in names
        ]
        axes.stackplot(ts, shares, labels=names, alpha=0.8)
        axes.legend(loc="lower left", fontsize=7, ncol=min(len(names), 6))
    else:
        axes.text(0.5, 0.5, "no backend id in the answers (--backend-id none?)", ha="center", transform=axes.transAxes)
    axes.set_ylim(0, 1)
    axes.set_ylabel("share of answers")
    axes.set_xlabel("seconds since the load began")
    _events(axes, results)
    axes.set_title("Share of answers per backend over time")
    return to_png(figure)


def render_all(results: dict[str, Any]) -> dict[str, bytes]:
    return {"timeline": timeline(results), "backends": backends(results)}

"""report.md of a capacity search or a cross-check: the stores ranked by capacity, both generators' figures."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from loadtest.compare.fidelity import capacity_report
from loadtest.compare.options import EXIT_DISAGREES
from loadtest.render.format import ms, pct, share
from loadtest.render.table import Table

Cell = dict[str, Any]


def cross_check_lines(cells: Sequence[Cell]) -> list[str]:
    out = []
    for cell in cells:
        check = cell.get("cross_check")
        if not check:
            continue
        out += [f"## Cross-check with {check['tool']}: {cell['store']} / {cell['routing']}, GET /me, "
                f"{check['rate']:g} req/s on {check['connections']} connections", "",
                Table(["", "p50 ms", "p99 ms", "req/s"], [
                    ["lab (from intended start)", ms(check["lab_p50_ms"]), ms(check["lab_p99_ms"]),
                     str(check["lab_rps"])],
                    ["lab service time (from the send)", ms(check["lab_service_p50_ms"]),
                     ms(check["lab_service_p99_ms"]), ""],
                    [check["tool"], ms(check["tool_p50_ms"]), ms(check["tool_p99_ms"]), str(check["tool_rps"])],
                    *server_rows(check),
                ]).markdown(),
                "", f"p50 within 20%: {check['p50_agrees']}; p99 within 2x: {check['p99_agrees']}. The lab's own "
                f"start lag (generator delay) p99: {ms(check['lab_start_lag_p99_ms'])} ms; late starts "
                f"{cell.get('late_starts')} ({cell.get('late_start_rate')}); generator CPU "
                f"{cell.get('generator_cpu_share')} of the machine, machine busy {cell.get('machine_busy_share')}.",
                "", *([f"**WARNING: {check['machine']}**", ""] if check.get("machine") else []),
                *explained(check)]  # fmt: skip
    return out


SERVER_SIDES = (("balancer", "balancer's own time (turn to last byte, node included)"),
                ("nodes", "nodes' own time (handler)"))  # fmt: skip


def server_rows(check: dict[str, Any]) -> list[list[str]]:
    """The servers' own time for each generator's requests, as rows under the generators' figures."""
    rows = []
    servers = check.get("servers") or {}
    for side, what in SERVER_SIDES:
        for generator in ("lab", check["tool"]):
            figures = servers.get(generator) or {}
            count = figures.get(f"{side}_requests")
            if count:
                p50, p99 = ms(figures.get(f"{side}_p50_ms")), ms(figures.get(f"{side}_p99_ms"))
                rows.append([f"{what}, {generator}'s requests", p50, p99, f"{count} requests"])
    return rows


def explained(check: dict[str, Any]) -> list[str]:
    """Which side carries the gap, the second generator's absence, and the verdict with its exit code."""
    out = [check["gap"], ""] if check.get("gap") else []
    if check.get("second_generator"):
        out += [f"Second outside generator: {check['second_generator']}.", ""]
    if check.get("agrees") is False:
        out += [f"**THE LAB AND {check['tool'].upper()} DISAGREE beyond the bounds (p50 within 20%, p99 within 2x): "
                f"`sessionlab compare` exits {EXIT_DISAGREES}.**", ""]  # fmt: skip
    return out


def generator_warnings(cells: Sequence[Cell]) -> list[str]:
    """Open-loop cells whose generator could not keep the rate or started too many requests late."""
    return [f"{c['store']} / {c['routing']} / {c['scenario']}: the load generator fell behind ({c['generator_note']});"
            f" its own start lag (p99 {ms(c.get('start_lag_p99_ms'))} ms) is part of this cell's latency"
            for c in cells if c.get("generator_behind")]  # fmt: skip


def load_model_lines(cells: Sequence[Cell]) -> list[str]:
    """The load model of the run, and per open-loop cell the rate asked and kept, late starts and CPU shares."""
    opened = [c for c in cells if c.get("load_model") == "open"]
    if not opened:
        return ["Load model: closed loop (each user waits for its answer, then 50-500 ms, before the next "
                "request; latency from the send).", ""]  # fmt: skip
    headers = ["cell", "asked req/s", "achieved", "late starts", "queued", "start lag p99 ms", "service p99 ms",
               "generator CPU", "cluster CPU", "machine busy"]  # fmt: skip
    rows = [[f"{c['store']} / {c['routing']} / {c['scenario']}", f"{c['arrival_rate']:g}", f"{c['achieved_rps']:g}",
             f"{c['late_starts']} ({pct(c['late_start_rate'])})", str(c["queued_starts"]),
             ms(c.get("start_lag_p99_ms")), ms(c.get("service_p99_ms")), share(c.get("generator_cpu_share")),
             share(c.get("cluster_cpu_share")), share(c.get("machine_busy_share"))]
            for c in opened]  # fmt: skip
    return ["", "## Load model: open loop", "", OPEN_LOOP_TEXT, "", Table(headers, rows).markdown(), ""]


OPEN_LOOP_TEXT = (
    "Each user sends on a fixed schedule (its share of the total rate), in order on its own session; latency "
    "counts from each request's intended start, so a stall shows as latency instead of as requests not sent. "
    "A start is *late* when a request leaves more than 5 ms after it could have (its intended start, or its "
    "previous answer if that came later): the generator's own delay. A cell is flagged when more than 1% of "
    "starts were late or the achieved rate fell below 95% of the request."
)


def render(meta: dict[str, Any], cells: Sequence[Cell]) -> str:
    head = [f"# sessionlab: {meta.get('tool', 'compare')} — open-loop figures", "",
            f"{meta.get('nodes')} nodes per fresh cluster; started {meta.get('started')}; "
            f"{meta.get('wall_s', '?')} s in all.", ""]  # fmt: skip
    return "\n".join(head + capacity_report.lines(cells) + cross_check_lines(cells))

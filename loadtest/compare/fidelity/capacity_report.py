"""report.md's capacity section: what ran out per store, both p99s per step, the generator's ceiling, wrk's knee."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from loadtest.compare.fidelity import verdict
from loadtest.render.format import ms, pct
from loadtest.render.table import Table

Cell = dict[str, Any]

GENERATOR_NOTE = (
    "The steps are driven by the lab's open-loop sender (asyncio on uvloop, httptools, under SCHED_FIFO where "
    "allowed; same accounting as the locustfile: misses, latency from the intended start, late starts), which "
    "sends about three times the requests per CPU-second of the locustfile and keeps its schedule on a busy "
    "machine. It still shares this machine's cores with the cluster: a step whose late-start rate is above "
    f"{verdict.LATE_START_BOUND:.0%} is `generator`, never `slo`, and a capacity bounded so is only a lower bound "
    "(≥). The figures are noisy when other processes load the machine."
)


def lines(cells: Sequence[Cell]) -> list[str]:
    ranked = sorted((c for c in cells if "capacity_rps" in c), key=lambda c: -c["capacity_rps"])
    if not ranked:
        return []
    slo = ranked[0].get("capacity_slo_ms")
    headers = ["rank", "store", "routing", "capacity", "generator's ceiling (GET /healthz)", "wrk knee (GET /me)"]
    rows = [[str(rank), cell["store"], cell["routing"], verdict.capacity_text(cell), _ceiling(cell),
             _knee(cell.get("knee_cross_check") or {})] for rank, cell in enumerate(ranked, start=1)]  # fmt: skip
    out = [f"## Capacity (p99 <= {slo:g} ms from the intended start, errors <= 0.1%), ranked", "",
           Table(headers, rows, align="rll").markdown()]  # fmt: skip
    out += ["", *[f"- {note}" for note in verdict.ranking_notes(ranked)], ""]
    out += ["Steps (rate: verdict; p99 ms from the intended start / the same less the generator's start lags / from "
            "the send; achieved req/s; late starts; generator / cluster CPU share):", ""]  # fmt: skip
    for cell in ranked:
        out.append(f"- {cell['store']} / {cell['routing']}: " + "; ".join(_step(s) for s in cell["capacity_steps"]))
    out += [
        f"**WARNING: {c['store']} / {c['routing']}: {c['capacity_note']}**" for c in ranked if c.get("capacity_note")
    ]
    return [*out, "", GENERATOR_NOTE, ""]


def _ceiling(cell: Cell) -> str:
    rate = cell.get("generator_ceiling_rps")
    if rate is None:
        return "-"
    bound = "≥ " if cell.get("generator_ceiling_at_least") else ""
    by = {"nodes": ", the nodes' limit", "generator": ""}.get(cell.get("generator_ceiling_stopped_by") or "", "")
    per_cpu = cell.get("generator_requests_per_cpu_s")
    policy = {"fifo": "SCHED_FIFO", "default": "normal priority"}.get(cell.get("generator_scheduling") or "", "")
    figures = ", ".join(part for part in (f"{per_cpu:g} req per CPU-s" if per_cpu else "", policy) if part)
    return f"{bound}{rate:g} req/s{by}" + (f" ({figures})" if figures else "")


def _knee(check: dict[str, Any]) -> str:
    if check.get("skipped"):
        return str(check["skipped"])
    if check.get("knee_rps") is None:
        return f"none within the SLO (peak {check.get('peak_rps')} req/s)"
    return f"{check['knee_rps']:g} req/s at {check['knee_connections']} conn. (peak {check['peak_rps']:g})"


def _step(step: dict[str, Any]) -> str:
    d = step.get("details") or {}
    result = "pass" if step["passed"] else f"{step.get('limited_by') or step['failed_by']}"
    p99s = " / ".join(ms(step.get(key)) for key in ("intended_p99_ms", "cluster_p99_ms", "service_p99_ms"))
    return (f"{step['rate']:g}: {result}, {p99s}, "
            f"{d.get('achieved_rps')}, {pct(step.get('late_start_rate'))}, "
            f"{pct(d.get('generator_cpu_share'))} / {pct(d.get('cluster_cpu_share'))}")  # fmt: skip

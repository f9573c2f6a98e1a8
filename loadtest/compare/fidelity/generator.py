"""The capacity search's load generator: the open-loop sender (loadtest/users/sender.py) run as its own process.

A capacity step measures the cluster only while the generator keeps its schedule, so the steps are driven by
the cheapest sender that still counts what the lab counts (the sender's docstring has the figures: several
times the requests per CPU-second of the locustfile). `SenderRun` starts it like loadtest/compare/run/locustrun.py
starts locust and reads the same stats file. `ceiling` is the generator's own limit on this machine: steps
of plain GET /healthz spread over the cluster's nodes (no balancer, no session), up until one is not kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loadtest.compare.fidelity import verdict
from loadtest.compare.record.cells import build_cell
from loadtest.compare.record.loadfigures import KEPT_RATE, load_model_fields
from loadtest.compare.run.loadrun import cpu_fields, run_load
from loadtest.compare.run.locustrun import LocustRun
from loadtest.compare.spec import CellSpec
from loadtest.lab.cluster import LocalCluster
from loadtest.lab.processes import ManagedProcess, python_module
from loadtest.users import hdr
from loadtest.users.sendbooks import CLUSTER_LATENCY

SENDER = "loadtest.users.sender"
CEILING_PATH = "/healthz"
CEILING_RATES = (500.0, 1000.0, 2000.0, 4000.0, 8000.0)  # each step doubles; the first one not kept ends the probe
CEILING_STEP_S = 2.0
CEILING_FLOOR = 100.0  # below this the probe stops halving: the machine, not a generator, is the limit
PROBES_S = 45.0  # the ceiling probe and wrk's knee per cell, at most, with process starts (for the time estimate)


@dataclass
class SenderRun(LocustRun):
    """One sender process at the spec's arrival rate against `host` (or, with `path`, plain GETs of it)."""

    path: str = ""

    def argv(self) -> list[str]:
        spec = self.spec
        rate, users, duration = f"{spec.arrival_rate:g}", str(spec.users), f"{spec.duration:g}"
        argv = python_module(SENDER, "--host", self.host, "--rate", rate, "--users", users, "--duration", duration,
                             "--stats", str(self.stats_path))  # fmt: skip
        return argv + ["--poisson"] * spec.poisson + (["--path", self.path] if self.path else [])

    def start(self) -> ManagedProcess:
        self.clear_previous()
        process = ManagedProcess("sender", self.argv(), log_path=self.folder / "sender.log", cwd=self.folder).start()
        self.on_pid("sender", int(process.pid or 0))
        return process


def step_cell(spec: CellSpec, folder: Path, cluster: LocalCluster, pids: Any) -> dict[str, Any]:
    """One capacity step driven by the sender: the same cell record as a locust-driven step."""
    load = run_load(cluster, spec, folder, ("browser", "app"), pids, run_class=SenderRun)
    own = hdr.percentile_ms(hdr.series_total(load.stats.get("hdr") or {}, CLUSTER_LATENCY), 99)
    return {**build_cell(spec, load.stats).to_json(), **cpu_fields(load.cpu), "generator": "sender",
            "cluster_p99_ms": own, "hdr_data": load.stats.get("hdr") or {}}  # fmt: skip


def probe_step(spec: CellSpec, folder: Path, cluster: LocalCluster, pids: Any) -> dict[str, Any]:
    """One ceiling step: plain GETs of CEILING_PATH over the nodes at the spec's rate; what was kept, at what CPU."""
    hosts = ",".join(member.url for member in cluster.nodes)

    def make(spec: CellSpec, host: str, folder: Path, kinds: tuple[str, ...], on_pid: Any) -> SenderRun:
        return SenderRun(spec, hosts, folder, kinds, on_pid, path=CEILING_PATH)

    load = run_load(cluster, spec, folder, (), pids, run_class=make)
    fields = load_model_fields(load.stats)
    sent = int(fields.get("scheduled_requests") or 0)
    cpu_s = float(load.cpu.get("generator_cpu_s") or 0.0)
    kept = fields["achieved_rps"] >= KEPT_RATE * spec.arrival_rate and not verdict.generator_ran_out(fields)
    return {"rate": spec.arrival_rate, "achieved_rps": fields["achieved_rps"], "kept": kept,
            "late_start_rate": fields["late_start_rate"], "queued_starts": fields["queued_starts"],
            "requests_per_cpu_s": round(sent / cpu_s) if cpu_s else None,
            "generator_cpu_share": load.cpu.get("generator_cpu_share"), "scheduling": load.stats.get("scheduling"),
            "machine_busy_share": load.cpu.get("machine_busy_share")}  # fmt: skip


def ceiling(spec: CellSpec, folder: Path, cluster: LocalCluster, pids: Any) -> dict[str, Any]:
    """The generator's ceiling here: the highest probe rate it kept, stepping up from CEILING_RATES[0] (down by
    halves when even that was not kept); `by` says whether the generator (late starts) or the nodes (queued
    starts: they answered too slowly) stopped the probe."""
    steps: list[dict[str, Any]] = []

    def probe(rate: float) -> dict[str, Any]:
        step = CellSpec(**{**spec.__dict__, "arrival_rate": rate, "duration": CEILING_STEP_S, "poisson": False})
        steps.append(probe_step(step, folder / f"ceiling-{rate:g}", cluster, pids))
        return steps[-1]

    for rate in CEILING_RATES:
        if not probe(rate)["kept"]:
            break
    rate = CEILING_RATES[0]
    while not any(s["kept"] for s in steps) and rate / 2 >= CEILING_FLOOR:
        rate /= 2
        probe(rate)
    failed = [s for s in steps if not s["kept"]]
    last = min(failed, key=lambda s: s["rate"]) if failed else None
    by = None if last is None else "generator" if last["late_start_rate"] > verdict.LATE_START_BOUND else "nodes"
    kept = [s["rate"] for s in steps if s["kept"]] + ([last["achieved_rps"]] if last and by == "nodes" else [])
    return {"generator_ceiling_rps": max(kept, default=0.0), "generator_ceiling_stopped_by": by,
            "generator_ceiling_at_least": by != "generator", "generator_ceiling_path": CEILING_PATH,
            "generator_ceiling_steps": steps, "generator_scheduling": steps[0]["scheduling"],
            "generator_requests_per_cpu_s": max(s["requests_per_cpu_s"] or 0 for s in steps)}  # fmt: skip

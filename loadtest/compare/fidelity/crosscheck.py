"""The outside cross-check: the same rate and connections from `hey`, a Go load generator, on the same cluster.

`hey -z D -c C -q R/C -o csv -H "Cookie: ..." URL/me`: C connections, each at R/C requests/s (hey's `-q` is
per connection), one logged-in session's cookie, every request's time written as CSV (seconds, full
precision), so its percentiles are exact, computed here by sorting. hey paces each connection with a ticker
and measures from the actual send, so its figures are service times; the lab reports both its latency from
the intended start and its service time, and the comparison uses like with like (see `compare_figures`).

On a shared machine, load from elsewhere comes and goes in bursts (a second-long stall of every process was
seen here); the two generators therefore take turns in ROUNDS (lab, hey, lab, hey), so both meet the same
weather, and each one's rounds are merged (HDR histograms for the lab, all samples for hey).
"""

from __future__ import annotations

import csv
import io
import math
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from http.cookies import SimpleCookie
from typing import Any

from loadtest.lab.probe import request

HEY = "hey"
P50_AGREEMENT, P99_AGREEMENT = 0.20, 2.0  # within 20% at p50, within 2x at p99
ROUNDS = 2  # turns each generator takes, alternating
BUNCHED_WITHIN_S = 0.001  # two sends this close are one burst
SATURATED = 0.9  # machine CPU busy share from which a comparison says the machine, not the cluster, was measured
# ... but only when other processes took at least this share: a capacity search's failing steps saturate the
# machine with the lab's own generator and cluster by design (seen here: busy 0.92, generator + cluster 0.85).
OTHERS_SIGNIFICANT = 0.25


# Other outside generators looked for, and why each cannot stand beside hey at a fixed rate (None: it could).
CLOSED_LOOP_TOOLS = {
    "wrk": "closed loop: each connection sends its next request when the answer came (its Lua delay() counts from "
    "the answer, and its Lua has no wall clock to keep a schedule), so its rate follows the answers",
    "ab": "closed loop: -c connections as fast as answers come, no rate option",
}
FIXED_RATE_TOOLS = ("wrk2", "oha", "vegeta")  # would qualify; none is supported here yet


def hey_path() -> str | None:
    return shutil.which(HEY)


def round_seconds(duration: float) -> int:
    """Each generator's turn in whole seconds (locust's run time takes only whole seconds): duration / ROUNDS,
    rounded up, at least 1."""
    return max(1, math.ceil(duration / ROUNDS - 1e-9))


def second_generator_note() -> str:
    """Which other outside generator could measure the same rate, and why none does here."""
    found = [name for name in (*FIXED_RATE_TOOLS, *CLOSED_LOOP_TOOLS) if shutil.which(name)]
    fixed = [name for name in found if name in FIXED_RATE_TOOLS]
    if fixed:
        return (f"{', '.join(fixed)} on PATH can send a fixed rate, but the cross-check does not drive it yet: "
                "hey is the only outside generator")  # fmt: skip
    closed = "; ".join(f"{name} is on PATH but {CLOSED_LOOP_TOOLS[name]}" for name in found)
    return (f"no second fixed-rate generator (wrk2, oha or vegeta) on PATH{': ' + closed if closed else ''}; "
            "so hey is the only outside generator")  # fmt: skip


def login_cookie(base_url: str, user: str = "cross-check") -> str:
    """Log one user in; the Cookie header value carrying its session (and the balancer's affinity)."""
    answer = request("POST", f"{base_url}/login", json_body={"user": user}, timeout=5.0)
    if answer.status is None or answer.status >= 400:
        raise RuntimeError(f"POST {base_url}/login answered {answer.status or 'nothing'}: {answer.body[:200]!r}")
    cookies: SimpleCookie = SimpleCookie()
    for header in answer.set_cookies:
        cookies.load(header)
    return "; ".join(f"{name}={morsel.value}" for name, morsel in cookies.items())


@dataclass(frozen=True)
class HeyRun:
    url: str
    rate: float  # requests/s in total
    connections: int
    duration: float
    cookie: str

    def argv(self, binary: str) -> list[str]:
        per_connection = self.rate / self.connections
        return [binary, "-z", f"{self.duration:g}s", "-c", str(self.connections), "-q", f"{per_connection:g}",
                "-o", "csv", "-H", f"Cookie: {self.cookie}", "-disable-compression", self.url]  # fmt: skip

    def run(self, binary: str, sends: list[list[float]] | None = None) -> list[tuple[float, int]]:
        """Every request's (response time in ms, status); `sends` gets this run's send offsets appended."""
        done = subprocess.run(self.argv(binary), capture_output=True, text=True, timeout=self.duration + 60,
                              check=False)  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"hey exited with {done.returncode}: {done.stderr.strip()[:300]}")
        if sends is not None:
            sends.append(send_offsets(done.stdout))
        return parse_csv(done.stdout)


def parse_csv(text: str) -> list[tuple[float, int]]:
    """(response time in ms, status) of every request in hey's CSV output."""
    rows = csv.DictReader(io.StringIO(text))
    return [(float(row["response-time"]) * 1000, int(row["status-code"])) for row in rows if row.get("response-time")]


def send_offsets(text: str) -> list[float]:
    """When each request left, in seconds since hey started (its CSV's `offset`)."""
    rows = csv.DictReader(io.StringIO(text))
    return [float(row["offset"]) for row in rows if row.get("offset")]


def bunched_share(runs: Sequence[Sequence[float]], within_s: float = BUNCHED_WITHIN_S) -> float | None:
    """The share of requests that left within `within_s` of another one of the same run: about 0 for a smooth
    schedule; hey's connections tick together, so its requests leave in bursts of one per connection."""
    total = bunched = 0
    for offsets in runs:
        ordered = sorted(offsets)
        gaps = [b - a for a, b in zip(ordered, ordered[1:], strict=False)]
        for index in range(len(ordered)):
            before = index > 0 and gaps[index - 1] <= within_s
            after = index < len(gaps) and gaps[index] <= within_s
            bunched += before or after
        total += len(ordered)
    return round(bunched / total, 3) if total else None


def exact_percentile(values: list[float], q: float) -> float | None:
    """The nearest-rank q-th percentile (0-100) of `values`, by sorting."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(int(-(-q * len(ordered) // 100)), 1)  # ceil(q/100 * n), at least 1
    return ordered[min(rank, len(ordered)) - 1]


def figures(samples: list[tuple[float, int]], duration: float, sends: Sequence[Sequence[float]] = ()) -> dict[str, Any]:
    times = [ms for ms, _ in samples]
    return {
        "bunched_share": bunched_share(sends),
        "requests": len(samples),
        "rps": round(len(samples) / duration, 1) if duration else 0.0,
        "errors": sum(1 for _, status in samples if status != 200),
        "p50_ms": exact_percentile(times, 50),
        "p99_ms": exact_percentile(times, 99),
    }


def agreement(lab: float | None, tool: float | None, *, ratio: float | None = None, relative: float | None = None
              ) -> bool | None:  # fmt: skip
    """Whether two figures agree: within `relative` of each other, or within a factor `ratio`."""
    if not lab or not tool:
        return None
    if relative is not None:
        return abs(lab - tool) <= relative * tool
    return max(lab, tool) / min(lab, tool) <= (ratio or 1.0)


def compare_figures(rate: float, connections: int, lab: dict[str, Any], tool: dict[str, Any],
                    servers: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:  # fmt: skip
    """The `cross_check` record: both generators' figures at one rate and connection count, the servers' own time
    for each generator's requests (`servers`: {"lab": ..., "hey": ...}, loadtest/compare/server_times.py), and the
    verdicts."""
    record: dict[str, Any] = {
        "tool": HEY,
        "rate": rate,
        "connections": connections,
        "lab_p50_ms": lab.get("p50_ms"),
        "tool_p50_ms": tool.get("p50_ms"),
        "lab_p99_ms": lab.get("p99_ms"),
        "tool_p99_ms": tool.get("p99_ms"),
        "lab_service_p50_ms": lab.get("service_p50_ms"),
        "lab_service_p99_ms": lab.get("service_p99_ms"),
        "lab_start_lag_p99_ms": lab.get("start_lag_p99_ms"),
        "lab_generator_behind": lab.get("generator_behind"),
        "lab_rps": lab.get("rps"),
        "tool_rps": tool.get("rps"),
        "tool_requests": tool.get("requests"),
        "tool_errors": tool.get("errors"),
        "tool_bunched_share": tool.get("bunched_share"),
    }
    record["p50_agrees"] = agreement(record["lab_p50_ms"], record["tool_p50_ms"], relative=P50_AGREEMENT)
    record["p99_agrees"] = agreement(record["lab_p99_ms"], record["tool_p99_ms"], ratio=P99_AGREEMENT)
    record["machine"] = machine_note(lab)
    record["servers"] = servers or {}
    record["gap"] = gap_note(record)
    record["second_generator"] = second_generator_note()
    record["agrees"] = record["p50_agrees"] is not False and record["p99_agrees"] is not False
    return record


def gap_note(record: dict[str, Any]) -> str | None:
    """Which side carries the p50 gap between the lab and hey: the servers' own time for each one's requests, or
    what lies outside them (the generator's client, the kernel, the loopback)."""
    lab_p50, tool_p50 = record.get("lab_p50_ms"), record.get("tool_p50_ms")
    servers = record.get("servers") or {}
    lab_side, tool_side = servers.get("lab") or {}, servers.get(HEY) or {}
    lab_in, tool_in = lab_side.get("balancer_p50_ms"), tool_side.get("balancer_p50_ms")
    if lab_p50 is None or tool_p50 is None or lab_in is None or tool_in is None:
        return None
    gap, inside = tool_p50 - lab_p50, tool_in - lab_in
    outside = (tool_p50 - tool_in) - (lab_p50 - lab_in)
    servers_carry = abs(inside) > abs(outside)
    carrier = "the servers carry" if servers_carry else "the generators' side (client, kernel, loopback) carries"
    why = _why(record, hey_queued=servers_carry and inside > 0, lab_delayed=not servers_carry and outside < 0)
    return (f"hey's p50 is {gap:+.2f} ms from the lab's; the servers' own p50 for hey's requests is "
            f"{inside:+.2f} ms from theirs for the lab's, the time outside the servers {outside:+.2f} ms: "
            f"{carrier} the gap{why}")  # fmt: skip


def _why(record: dict[str, Any], *, hey_queued: bool, lab_delayed: bool) -> str:
    """The known cause, when the figures point at one: hey's bursts queueing, or the lab's generator lagging."""
    bunched = record.get("tool_bunched_share")
    if hey_queued and bunched is not None and bunched >= 0.5:
        return (f". {bunched:.0%} of hey's requests left within {BUNCHED_WITHIN_S * 1000:g} ms of another: its "
                f"{record['connections']} connections tick together, so each tick's requests queue at the servers, "
                "where the lab spreads its users over the interval")  # fmt: skip
    if lab_delayed and record.get("lab_generator_behind"):
        return (f". The lab's generator fell behind its schedule (start lag p99 {record.get('lab_start_lag_p99_ms')} "
                "ms): its own delay is part of its figures")  # fmt: skip
    return ""


def disagrees(cells: list[dict[str, Any]]) -> bool:
    """Whether any cross-check found the lab and the outside tool apart beyond the bounds."""
    return any((cell.get("cross_check") or {}).get("agrees") is False for cell in cells)


def machine_note(lab: dict[str, Any]) -> str | None:
    """Say so when other processes saturated the machine: then neither generator's figures describe the cluster."""
    busy, load, cores = lab.get("machine_busy_share"), lab.get("load_average"), lab.get("cores")
    if not contended(lab):
        return None
    return (
        f"machine saturated: {busy:.0%} CPU busy, load average {load} on {cores:g} cores; the generator "
        f"took {lab.get('generator_cpu_share')} of it and the cluster {lab.get('cluster_cpu_share')}: the rest "
        "was other processes, so these figures measure the machine's contention as much as the cluster"
    )


def others_share(figures: dict[str, Any]) -> float:
    """The machine's CPU share that neither the generator nor the cluster (Redis included) used."""
    busy = figures.get("machine_busy_share") or 0.0
    return max(busy - (figures.get("generator_cpu_share") or 0.0) - (figures.get("cluster_cpu_share") or 0.0), 0.0)


def contended(figures: dict[str, Any]) -> bool:
    """Saturated, and by other processes: then the figures measure the machine's contention, not the cluster."""
    return (figures.get("machine_busy_share") or 0.0) >= SATURATED and others_share(figures) >= OTHERS_SIGNIFICANT

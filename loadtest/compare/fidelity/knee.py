"""An outside look at the capacity knee: wrk, a C load generator, at increasing connection counts on the same cluster.

After a capacity search the cell's cluster is still up; wrk (one thread) replays GET /me with SESSIONS
logged-in browser sessions (session and affinity cookies, round robin) at 1, 2, 4, ... connections, each for
a few seconds. Closed loop: each connection waits for its answer, so the throughput rises with the
connections until the cluster saturates, and the p99 (from the send) climbs past the SLO at the knee. The
knee here is the highest throughput whose p99 stayed within the SLO; it is printed beside the lab's figure.
GET /me only (the lab mixes in writes), so it bounds the lab's figure from above rather than equalling it.
"""

from __future__ import annotations

import shutil
import subprocess
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

from loadtest.bench.load import Workload, lua_script, run_wrk
from loadtest.lab.probe import request

WRK = "wrk"
CONNECTIONS = (1, 2, 4, 8, 16, 32, 64)
SECONDS = 3
SESSIONS = 16


def sessions(base_url: str, count: int = SESSIONS) -> list[str]:
    """`count` browser logins through the balancer, as Cookie header values (session and affinity cookies)."""
    cookies = []
    for index in range(count):
        answer = request("POST", f"{base_url}/login", json_body={"user": f"knee-{index}"}, timeout=5.0)
        if answer.status != 200:
            raise RuntimeError(f"POST {base_url}/login answered {answer.status or 'nothing'}")
        jar: SimpleCookie = SimpleCookie()
        for header in answer.set_cookies:
            jar.load(header)
        cookies.append("; ".join(f"{name}={morsel.value}" for name, morsel in jar.items()))
    return cookies


def knee_of(rows: list[dict[str, Any]], slo_ms: float) -> dict[str, Any]:
    """The highest throughput within the SLO (p99, no errors), and the highest throughput at all."""
    within = [r for r in rows if r["p99_ms"] <= slo_ms and not r["errors"]]
    best = max(within, key=lambda r: r["rps"], default=None)
    return {"knee_rps": best["rps"] if best else None, "knee_connections": best["connections"] if best else None,
            "peak_rps": max((r["rps"] for r in rows), default=None)}  # fmt: skip


def cross_check(base_url: str, folder: Path, slo_ms: float) -> dict[str, Any]:
    """wrk's knee on this cluster, or why there is none (wrk not installed, or it failed)."""
    binary = shutil.which(WRK)
    if binary is None:
        return {"tool": WRK, "skipped": "wrk is not on PATH (Debian/Ubuntu: apt-get install wrk)"}
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    try:
        script = lua_script(folder / "knee.lua", Workload("GET", "/me"), sessions(base_url))
        for connections in CONNECTIONS:
            m = run_wrk(
                binary, f"{base_url}/me", script, seconds=SECONDS, connections=connections, timeout=SECONDS + 30
            )
            rows.append({"connections": connections, "rps": round(m.rps, 1), "p50_ms": round(m.p50_ms, 2),
                         "p99_ms": round(m.p99_ms, 2), "errors": m.non2xx + m.socket_errors})  # fmt: skip
            if m.p99_ms > 4 * slo_ms:
                break  # far past the knee: more connections only queue
    except (RuntimeError, OSError, subprocess.SubprocessError) as error:
        return {"tool": WRK, "skipped": f"wrk failed: {str(error).splitlines()[0]}", "rows": rows}
    return {"tool": WRK, "request": "GET /me", "slo_ms": slo_ms, "rows": rows, **knee_of(rows, slo_ms)}

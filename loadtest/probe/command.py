"""`sessionlab probe --target URL --duration 20s`: the session-miss rate and affinity of a running deployment.

Exit status: 0 when done and no --fail-on threshold was crossed, 1 when one was, 2 on bad input or a target
that cannot be probed (one line on stderr).
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time

import aiohttp

from loadtest.probe import results as R
from loadtest.probe.events import COMMAND_GRACE, run_event, start_mark_server
from loadtest.probe.options import ProbeOptions, UsageError, parse
from loadtest.probe.record import Recording
from loadtest.probe.sender import drive
from loadtest.probe.target import LabCluster, ProbeError, lab_cluster, preflight

LOOK_TIMEOUT = aiohttp.ClientTimeout(total=5)  # asking whether the target is the lab's cluster, before and after


def main(argv: list[str]) -> int:
    try:
        options = parse(argv)
    except UsageError as error:
        print(f"sessionlab probe: error: {error}", file=sys.stderr)
        return 2
    for line in plan(options):
        print(line, flush=True)
    try:
        results = asyncio.run(probe(options, argv))
    except (ProbeError, OSError) as error:
        print(f"sessionlab probe: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("sessionlab probe: interrupted: no results written", file=sys.stderr)
        return 130
    from loadtest.probe.report import summary, write_report  # matplotlib loads slowly: only once there are results

    written = [R.write(options.out, results), *write_report(options.out, results)]
    print(summary(results))
    print("wrote " + ", ".join(str(path) for path in written))
    crossed = R.crossed(results)
    for expression in crossed:
        print(f"sessionlab probe: FAIL: {expression} (value {_value(results, expression)})", file=sys.stderr)
    return 1 if crossed else 0


def plan(options: ProbeOptions) -> list[str]:
    """What the probe is about to do, said before it does it."""
    loop = f"open loop at {options.rate:g} requests/s" if options.open_loop else "closed loop (think time 0.05-0.5 s)"
    lines = [
        f"probing {options.target} for {options.duration:g}s: {options.users} synthetic {'+'.join(options.kinds)} "
        f"users, {loop}",
        f"rate cap: at most {options.max_rate:g} requests/s, logins and logouts included (--max-rate)",
    ]
    if options.rate_capped:
        lines.append(f"--rate is above --max-rate: sending {options.rate:g} requests/s")
    return lines


async def probe(options: ProbeOptions, argv: list[str]) -> dict[str, object]:
    """Preflight, then the load with its events, then the results."""
    options.out.mkdir(parents=True, exist_ok=True)
    async with aiohttp.TCPConnector(limit=8) as connector:
        await preflight(options, connector)
        async with aiohttp.ClientSession(connector=connector, connector_owner=False, timeout=LOOK_TIMEOUT) as http:
            lab = await lab_cluster(http, options.target)
    if lab is not None:
        print(f"target is a sessionlab cluster: {lab.routing} routing, {lab.store} store, {lab.nodes} nodes "
              "(the report puts compare's theory beside the figures)")  # fmt: skip
    recording = Recording()
    runner, mark_url = await start_mark_server(recording, options.mark_port)
    print(f"mark an event: curl -X POST {mark_url} -d 'what happened'", flush=True)
    try:
        recording.start = time.time()
        log = options.out / "events.log"
        events = [asyncio.create_task(run_event(event, recording, log)) for event in options.events]
        await drive(options, recording)
        if events:
            await asyncio.wait(events, timeout=COMMAND_GRACE)
        for task in events:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    finally:
        await runner.cleanup()
    return R.build(options, recording, lab, await _healthy_after(options, lab), argv)


async def _healthy_after(options: ProbeOptions, lab: LabCluster | None) -> int | None:
    if lab is None:
        return None
    async with aiohttp.ClientSession(timeout=LOOK_TIMEOUT) as http:
        after = await lab_cluster(http, options.target)
    return after.nodes if after is not None else None


def _value(results: dict[str, object], expression: str) -> object:
    return next(t["value"] for t in results["thresholds"] if t["expression"] == expression)  # type: ignore[attr-defined]

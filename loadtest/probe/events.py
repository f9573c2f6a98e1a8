"""Events on the probe's timelines: `--event` commands run at their time, and a local POST /_probe/mark endpoint.

A command runs in a shell with its output in the run's folder (events.log); its exit status is kept. The mark
endpoint listens on 127.0.0.1 only, so a user's own script (a deploy, a failover) can say when it acted.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

from aiohttp import web

from loadtest.lab.processes import free_port
from loadtest.probe.record import Recording
from loadtest.probe.spec import Event

MARK_PATH = "/_probe/mark"
COMMAND_GRACE = 10.0  # seconds a command may run on after the load before the probe stops waiting for it


async def run_event(event: Event, recording: Recording, log: Path) -> None:
    """Wait until the event's time, mark it, run its command and keep its exit status."""
    await asyncio.sleep(max(recording.start + event.at - time.time(), 0.0))
    index = recording.mark(event.command, "event")
    with log.open("ab") as out:
        out.write(f"--- {event.at:g}s: {event.command}\n".encode())
        out.flush()
        process = await asyncio.create_subprocess_shell(event.command, stdout=out, stderr=out)
        try:
            recording.event_results[index] = await process.wait()
        except asyncio.CancelledError:
            if process.returncode is None:
                process.kill()
                await process.wait()
            recording.event_results[index] = None
            raise


def mark_app(recording: Recording) -> web.Application:
    """POST /_probe/mark with a label (text body, JSON {"label": ...} or ?label=) marks the timelines now."""

    async def mark(request: web.Request) -> web.Response:
        raw = (await request.read()).decode("utf-8", "replace").strip()
        label = request.query.get("label", "")
        if not label and raw.startswith("{"):
            try:
                label = str(json.loads(raw).get("label", ""))
            except (ValueError, AttributeError):
                label = ""
        label = (label or raw or "mark")[:200]
        recording.mark(label, "mark")
        return web.json_response({"marked": label, "at_s": round(time.time() - recording.start, 3)})

    app = web.Application()
    app.router.add_post(MARK_PATH, mark)
    return app


async def start_mark_server(recording: Recording, port: int) -> tuple[web.AppRunner, str]:
    """The mark endpoint on 127.0.0.1:port (0: a free port); returns the runner and its URL."""
    port = port or free_port()
    runner = web.AppRunner(mark_app(recording), access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, "127.0.0.1", port).start()
    except OSError as error:
        await runner.cleanup()
        raise OSError(f"the mark endpoint cannot listen on 127.0.0.1:{port} ({error.strerror or error})") from None
    return runner, f"http://127.0.0.1:{port}{MARK_PATH}"

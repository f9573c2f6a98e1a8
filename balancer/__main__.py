"""`python -m balancer` / `sessionlab balancer`: run the reverse proxy with settings from BALANCER_* env vars."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import sys
from collections.abc import Callable

import balancer
from balancer.data_path import COMPILED, DATA_PATH_ENV
from balancer.settings import BalancerSettings
from nodes.contract.envconfig import SettingsError, exit_with_settings_error
from nodes.contract.envhelp import parse_service_args, service_parser, variables

log = logging.getLogger("balancer")

PROG = "sessionlab balancer"
DESCRIPTION = (
    "Run the reverse proxy in front of the nodes. Every setting is an environment variable (listed below with its\n"
    "default). Own endpoints: GET /_balancer/status (JSON), GET /_balancer/metrics (Prometheus), and with\n"
    "BALANCER_ADMIN_TOKEN the runtime API (/_balancer/upstreams: add, remove, drain, ready)."
)
HELP_MODES = ({"BALANCER_UPSTREAMS": "http://127.0.0.1:8081"},)
DEV_SECRET_WARNING = (
    "\n" + "!" * 78 + "\n"
    "!! BALANCER_ROUTE_SECRET is not set: affinity cookies are signed with the PUBLIC development\n"
    "!! default, so anyone can forge them. Set BALANCER_ROUTE_SECRET (16+ random characters).\n" + "!" * 78
)


def main(argv: list[str] | None = None) -> int:
    found = variables(BalancerSettings.from_env, HELP_MODES)
    parse_service_args(service_parser(PROG, DESCRIPTION, found), argv, found)
    try:
        settings = BalancerSettings.from_env()
    except SettingsError as error:
        exit_with_settings_error(PROG, error)
    if settings.data_path == COMPILED and balancer.DATA_PATH.kind != COMPILED:
        print(f"{PROG}: {DATA_PATH_ENV}=compiled, but {balancer.DATA_PATH.reason}", file=sys.stderr)
        return 2
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if settings.using_dev_secret and settings.routing == "sticky":
        log.warning(DEV_SECRET_WARNING)
    try:
        with asyncio.Runner(loop_factory=_loop_factory()) as runner:
            runner.run(serve(settings))
    except OSError as error:  # typically the port is taken: one line, not a traceback
        print(f"{PROG}: {listen_problem(settings, error)}", file=sys.stderr)
        return 1
    log.info("balancer stopped")
    return 0


def listen_problem(settings: BalancerSettings, error: OSError) -> str:
    """One line: which address could not be bound, and why."""
    if isinstance(error, socket.gaierror):
        return f"cannot resolve host {settings.host} (BALANCER_HOST): {error.strerror}"
    reason = os.strerror(error.errno) if error.errno else str(error)
    return f"cannot listen on {settings.host}:{settings.port}: {reason}"


async def serve(settings: BalancerSettings) -> None:
    """Run until SIGTERM or SIGINT, then stop gracefully: no new connections, answers in progress finish."""
    from balancer.app import Balancer  # here: a bad setting is refused before aiohttp is imported

    proxy = Balancer(settings)
    try:
        await proxy.start()
    except OSError:
        await proxy.close()
        raise
    log.info(
        "balancer listening on http://%s:%d, routing=%s, %d upstream(s): %s; data path %s (%s)",
        settings.host, proxy.port, settings.routing, len(settings.upstreams), ", ".join(settings.upstreams),
        balancer.DATA_PATH.kind, balancer.DATA_PATH.reason,
    )  # fmt: skip
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    log.info("stopping: letting requests in progress finish (up to %g s)", settings.shutdown_timeout)
    await proxy.close(settings.shutdown_timeout)


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop]:
    """uvloop when installed (a faster loop for a proxy), else asyncio's own."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop
    return uvloop.new_event_loop


if __name__ == "__main__":
    raise SystemExit(main())

"""`python -m balancer` / `sessionlab balancer`: run the reverse proxy with settings from BALANCER_* env vars."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import Callable

from balancer.app import Balancer
from balancer.settings import BalancerSettings
from nodes.contract.envconfig import SettingsError, exit_with_settings_error

log = logging.getLogger("balancer")

DESCRIPTION = (
    "Run the reverse proxy in front of the nodes. Settings come from the environment: BALANCER_UPSTREAMS "
    "(required, comma-separated node URLs), BALANCER_ROUTING (random|round_robin|sticky|hash|route), BALANCER_HOST, "
    "BALANCER_PORT, BALANCER_HEALTH_INTERVAL, BALANCER_STICKY_COOKIE, BALANCER_ROUTE_SECRET and more (see README). "
    "Own endpoints: GET /_balancer/status (JSON), GET /_balancer/metrics (Prometheus), and with BALANCER_ADMIN_TOKEN "
    "the runtime API (/_balancer/upstreams: add, remove, drain, ready)."
)
DEV_SECRET_WARNING = (
    "\n" + "!" * 78 + "\n"
    "!! BALANCER_ROUTE_SECRET is not set: affinity cookies are signed with the PUBLIC development\n"
    "!! default, so anyone can forge them. Set BALANCER_ROUTE_SECRET (16+ random characters).\n" + "!" * 78
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="sessionlab balancer", description=DESCRIPTION)
    parser.parse_args(sys.argv[1:] if argv is None else argv)
    try:
        settings = BalancerSettings.from_env()
    except SettingsError as error:
        exit_with_settings_error("balancer", error)
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if settings.using_dev_secret and settings.routing == "sticky":
        log.warning(DEV_SECRET_WARNING)
    try:
        with asyncio.Runner(loop_factory=_loop_factory()) as runner:
            runner.run(serve(settings))
    except OSError as error:  # typically the port is taken: one line, not a traceback
        print(f"balancer: cannot listen on {settings.host}:{settings.port}: {error.strerror or error}", file=sys.stderr)
        return 1
    log.info("balancer stopped")
    return 0


async def serve(settings: BalancerSettings) -> None:
    """Run until SIGTERM or SIGINT, then stop gracefully: no new connections, answers in progress finish."""
    balancer = Balancer(settings)
    try:
        await balancer.start()
    except OSError:
        await balancer.close()
        raise
    log.info(
        "balancer listening on http://%s:%d, routing=%s, %d upstream(s): %s",
        settings.host, balancer.port, settings.routing, len(settings.upstreams), ", ".join(settings.upstreams),
    )  # fmt: skip
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    log.info("stopping: letting requests in progress finish (up to %g s)", settings.shutdown_timeout)
    await balancer.close(settings.shutdown_timeout)


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop]:
    """uvloop when installed (a faster loop for a proxy), else asyncio's own."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop
    return uvloop.new_event_loop


if __name__ == "__main__":
    raise SystemExit(main())

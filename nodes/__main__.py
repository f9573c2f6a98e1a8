"""`python -m nodes` / `sessionlab node`: run one node with settings from the environment."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from nodes.app import create_app
from nodes.contract.envconfig import SettingsError, exit_with_settings_error
from nodes.keys import IN_FLIGHT
from nodes.serve import serve
from nodes.settings import NodeSettings

log = logging.getLogger("nodes")

DEV_SECRET_WARNING = (
    "\n" + "!" * 78 + "\n"
    "!! SESSION_SECRET is not set: using the public DEVELOPMENT key. Anyone can read and forge\n"
    "!! cookie sessions made with it. Set SESSION_SECRET to your own Fernet key(s) outside a lab.\n" + "!" * 78
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="sessionlab node",
        description="Run one aiohttp node. Settings come from the environment: NODE_ID, NODE_HOST, NODE_PORT, "
        "SESSION_STORE (memory|cookie|redis), REDIS_URL, SESSION_SECRET, SESSION_MAX_AGE, SESSION_COOKIE_SECURE, "
        "SESSION_MEMORY_MAX, REDIS_TIMEOUT, NODE_SHUTDOWN_TIMEOUT, SESSION_ROUTE_TAG (see README).",
    )
    parser.parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = NodeSettings.from_env()
    except SettingsError as error:
        exit_with_settings_error("sessionlab node", error)
    if settings.using_dev_secret and settings.store == "cookie":
        log.warning(DEV_SECRET_WARNING)
    where = f" at {settings.redis_location()}" if settings.store == "redis" else ""
    log.info("node %s on http://%s:%d, session store: %s%s", settings.node_id, settings.host, settings.port,
             settings.store, where)  # fmt: skip
    _use_uvloop()
    asyncio.run(_serve(settings))
    return 0


async def _serve(settings: NodeSettings) -> None:
    app = create_app(settings)
    await serve(app, settings, app[IN_FLIGHT])


def _use_uvloop() -> None:
    try:
        import uvloop
    except ImportError:
        return
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


if __name__ == "__main__":
    raise SystemExit(main())

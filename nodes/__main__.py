"""`python -m nodes` / `sessionlab node`: run one node with settings from the environment."""

from __future__ import annotations

import asyncio
import logging
import sys
from typing import TYPE_CHECKING

from nodes.contract.envconfig import SettingsError, exit_with_settings_error
from nodes.contract.envhelp import parse_service_args, service_parser, variables
from nodes.contract.names import REDIS
from nodes.settings import EVERY_MODE, NodeSettings

if TYPE_CHECKING:
    from aiohttp import web

log = logging.getLogger("nodes")

PROG = "sessionlab node"
DESCRIPTION = "Run one aiohttp node. Every setting is an environment variable (listed below with its default)."
DEV_SECRET_WARNING = (
    "\n" + "!" * 78 + "\n"
    "!! SESSION_SECRET is not set: using the public DEVELOPMENT key. Anyone can read and forge\n"
    "!! cookie sessions made with it. Set SESSION_SECRET to your own Fernet key(s) outside a lab.\n" + "!" * 78
)


def main(argv: list[str] | None = None) -> int:
    found = variables(NodeSettings.from_env, EVERY_MODE)
    parse_service_args(service_parser(PROG, DESCRIPTION, found), argv, found)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = NodeSettings.from_env()
    except SettingsError as error:
        exit_with_settings_error(PROG, error)
    if settings.using_dev_secret and settings.store == "cookie":
        log.warning(DEV_SECRET_WARNING)
    _use_uvloop()
    from nodes.serve import CannotListen  # here: a bad setting is refused before aiohttp is imported (~0.3 s)

    try:
        asyncio.run(_serve(settings))
    except CannotListen as error:
        print(f"{PROG}: {error}", file=sys.stderr)
        return 1
    return 0


async def _serve(settings: NodeSettings) -> None:
    from nodes.app import create_app
    from nodes.keys import IN_FLIGHT
    from nodes.serve import serve

    app = create_app(settings)
    check = asyncio.create_task(_warn_if_store_unreachable(app, settings))
    try:
        await serve(app, settings, app[IN_FLIGHT], lambda: _log_start(settings))
    finally:
        check.cancel()


def _log_start(settings: NodeSettings) -> None:
    where = f" at {settings.redis_location()}" if settings.store == REDIS else ""
    log.info("node %s on http://%s:%d, session store: %s%s", settings.node_id, settings.host, settings.port,
             settings.store, where)  # fmt: skip


async def _warn_if_store_unreachable(app: web.Application, settings: NodeSettings) -> None:
    """One warning line when the store (Redis) does not answer at start-up; the node starts anyway (it may come)."""
    from nodes.keys import STORE

    problem = await app[STORE].start_problem()
    if problem is not None:
        where = f" at {settings.redis_location()}" if settings.store == REDIS else ""
        log.warning("session store %s%s does not answer now (%s): session requests get 503 until it does "
                    "(GET /readyz tells)", settings.store, where, problem)  # fmt: skip


def _use_uvloop() -> None:
    try:
        import uvloop
    except ImportError:
        return
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


if __name__ == "__main__":
    raise SystemExit(main())

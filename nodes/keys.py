"""Typed application keys shared by the app factory and the handlers."""

from aiohttp import web

from nodes.polling import Transports
from nodes.serve import InFlight
from nodes.stores.base import SessionStore
from nodes.writes import ConflictCount

NODE_ID = web.AppKey("node_id", str)
STORE = web.AppKey("store", SessionStore)
CONFLICTS = web.AppKey("conflicts", ConflictCount)
IN_FLIGHT = web.AppKey("in_flight", InFlight)
ROUTING = web.AppKey("routing", str)  # NODE_ROUTING: shown on the node page ("" when the node was not told)
TICK_SECONDS = web.AppKey("tick_seconds", float)
TRANSPORTS = web.AppKey("transports", Transports)

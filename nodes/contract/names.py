"""Every name two parts of sessionlab must agree on, defined once.

A routing mode, a store or a header named anywhere else is a copy of what stands here; the contract test
checks these tuples against the balancer's routing registry, the nodes' store registry and the settings.
"""

from __future__ import annotations

from typing import Final

# Routing policies the balancer offers (BALANCER_ROUTING); order is the report's order. The single names are for
# code that treats one mode apart (and for subsets, built from these, never retyped).
RANDOM: Final = "random"
ROUND_ROBIN: Final = "round_robin"
STICKY: Final = "sticky"
HASH: Final = "hash"
ROUTE: Final = "route"
ROUTING_MODES: Final = (RANDOM, ROUND_ROBIN, STICKY, HASH, ROUTE)
DEFAULT_ROUTING: Final = RANDOM

# Session stores a node offers (SESSION_STORE); order is the report's order.
MEMORY: Final = "memory"
COOKIE: Final = "cookie"
REDIS: Final = "redis"
STORES: Final = (MEMORY, COOKIE, REDIS)
DEFAULT_STORE: Final = MEMORY

# The node's own stores: STORES plus the replicated store (Tomcat-style clustering, SESSION_STORE=replicated). It
# stays out of STORES (the lab's matrix) until the lab starts clusters with SESSION_PEERS and SESSION_PEER_SECRET.
REPLICATED_STORE: Final = "replicated"
NODE_STORES: Final = (*STORES, REPLICATED_STORE)
# SESSION_REPLICATION: "all" copies every session to every node (DeltaManager); "backup" keeps one backup per
# session on another node (BackupManager). SESSION_REPLICATION_MODE: "sync" waits for the copies, "async" does not.
REPLICATION_SCOPES: Final = ("all", "backup")
REPLICATION_MODES: Final = ("sync", "async")

# SESSION_CONSISTENCY: "cas" versions each session and re-applies a change on conflict (no lost updates);
# "last_write_wins" is aiohttp-session's own behaviour. The client holds cookie sessions, so cookie can't do cas.
CAS: Final = "cas"
LAST_WRITE_WINS: Final = "last_write_wins"
CONSISTENCY_MODES: Final = (CAS, LAST_WRITE_WINS)
CAS_INCAPABLE_STORES: Final = frozenset({COOKIE})

# How a session reference travels: a cookie for browsers, a header for app clients (mobile, mini-programs, SPAs).
SESSION_COOKIE: Final = "SL_SESSION"
TOKEN_HEADER: Final = "X-Session-Token"
# What an app client sends in TOKEN_HEADER before it holds a token (any case): "no session yet, issue me one".
NO_TOKEN_YET: Final = "new"
# The balancer's own affinity cookie for sticky routing.
AFFINITY_COOKIE: Final = "SL_ROUTE"
# The id a client gives each request; with NODE_REQUEST_LOG a node records every POST's, so a replay shows.
REQUEST_ID_HEADER: Final = "X-Request-Id"
# Every node answer, errors included, names the node that made it.
NODE_ID_HEADER: Final = "X-Node-Id"
# Route-tagged references (Tomcat's jvmRoute): "<reference>.<node id>" when a node runs with SESSION_ROUTE_TAG.
# Session ids and Fernet tokens are url-safe base64, which never holds a ".", so the first "." splits.
ROUTE_SEPARATOR: Final = "."

# The request head a node accepts: each header line (and the request line) up to HEAD_LINE_LIMIT bytes, at most
# HEAD_FIELDS_LIMIT headers (aiohttp's own defaults). Beyond them the balancer and the node both answer a JSON 431
# whose "error" is HEAD_TOO_LARGE_ERROR, never an echo of the input.
HEAD_LINE_LIMIT: Final = 8190
HEAD_FIELDS_LIMIT: Final = 128
HEAD_TOO_LARGE_ERROR: Final = "request_head_too_large"
HEAD_TOO_LARGE_DETAIL: Final = "the request line and headers are too large"

# BALANCER_UPSTREAMS and SESSION_PEERS scheme of an item that stands for every address a DNS name resolves to.
DNS_SCHEME: Final = "dns://"
# REDIS_URL scheme of a Redis found through Sentinel: redis+sentinel://host:port[,host:port...]/<master name>.
REDIS_SENTINEL_SCHEME: Final = "redis+sentinel://"

# The idle timeout of a session, in seconds, sliding on use (SESSION_MAX_AGE).
DEFAULT_MAX_AGE: Final = 1800

# The session's own life (docs/session-life.md).
# SESSION_TTL is another name for SESSION_MAX_AGE, the idle timeout (the two may not disagree).
# SESSION_PAD_KB: at login the node puts that many KB of filler into the session, under PAD_KEY.
PAD_KEY: Final = "pad"
# SESSION_TOUCH: when a request that only reads the session refreshes its idle timeout in the store. "always": every
# request; "on-change": only when the session is saved; "lazy:<s>": at most once every s seconds per session. The
# default is the store's own behaviour (default_touch): server-side stores slide on every read, the cookie store
# re-issues its value at most every min(60, TTL/10) s.
TOUCH_ALWAYS: Final = "always"
TOUCH_ON_CHANGE: Final = "on-change"
TOUCH_LAZY: Final = "lazy"
TOUCH_LAZY_PREFIX: Final = TOUCH_LAZY + ":"
# SESSION_SAVE: "always" writes the whole session back on every request that found it (the cookie store re-issues
# its cookie on every answer); "on-change" only when a request changed it.
SAVE_ALWAYS: Final = "always"
SAVE_ON_CHANGE: Final = "on-change"
SAVE_MODES: Final = (SAVE_ALWAYS, SAVE_ON_CHANGE)
DEFAULT_SAVE: Final = SAVE_ON_CHANGE
# SESSION_SCHEMA: the stored form a node writes (2 renames the session's "user" to "user_id"). SESSION_SCHEMA_COMPAT:
# what a schema-2 node does with a schema-1 session: "migrate" (read it, write it back as 2) or "reject" (a new
# session: the user is logged out). A schema-1 node never reads a schema-2 session: a new session, counted.
SCHEMA_VERSIONS: Final = (1, 2)
DEFAULT_SCHEMA: Final = 1
SCHEMA_MIGRATE: Final = "migrate"
SCHEMA_REJECT: Final = "reject"
SCHEMA_COMPAT_MODES: Final = (SCHEMA_MIGRATE, SCHEMA_REJECT)
# SESSION_COOKIE_DENYLIST: where the cookie store keeps the ids of revoked cookie sessions ("" = nowhere).
DENYLIST_OFF: Final = ""
DENYLIST_REDIS: Final = "redis"
DENYLIST_MODES: Final = (DENYLIST_OFF, DENYLIST_REDIS)
# What browsers keep of one cookie; the cookie store refuses (413, COOKIE_TOO_LARGE_ERROR) a session over it.
COOKIE_LIMIT_BYTES: Final = 4096
COOKIE_TOO_LARGE_ERROR: Final = "session too large for a cookie"
# A Redis at maxmemory with noeviction refuses writes: the node answers 503 with this error.
STORE_FULL_ERROR: Final = "session store full"
STORE_UNAVAILABLE_ERROR: Final = "session store unavailable"
# A node's session counters since it started (never reset: readers take differences), JSON with these fields.
NODE_SESSION_STATS_PATH: Final = "/_node/session-stats"
SESSION_STATS_FIELDS: Final = (
    "requests",  # requests served (health checks and /_ endpoints excluded)
    "store_reads",  # sessions read from the store (cookie: cookies decrypted)
    "store_writes",  # sessions written to the store (cookie: cookies issued with changed content)
    "store_touches",  # idle timeouts refreshed without a write (cookie: an unchanged session re-issued)
    "store_bytes_read",
    "store_bytes_written",
    "sessions_expired",  # a reference whose session this node saw expired (memory and cookie stores)
    "sessions_not_found",  # a well-formed reference the store does not hold (expired, evicted, logged out, elsewhere)
    "schema_migrated",
    "schema_rejected",
    "schema_unreadable",
    "logins_refused",  # logins answered 503 because the store was full
    "cookie_too_large",  # saves refused with 413
    "denylist_hits",  # revoked cookie sessions refused
)


def default_touch(store: str, ttl: int) -> str:
    """Each store's behaviour before SESSION_TOUCH existed: a read slides a server-side session's timeout; the cookie
    store re-issues its value (a new timestamp) once it is a tenth of the timeout old, at most a minute."""
    if store != COOKIE:
        return TOUCH_ALWAYS
    seconds = min(60, ttl // 10)
    return f"{TOUCH_LAZY_PREFIX}{seconds}" if seconds > 0 else TOUCH_ALWAYS


# The balancer's own endpoints: never proxied to a node.
BALANCER_PREFIX: Final = "/_balancer/"
BALANCER_STATUS_PATH: Final = "/_balancer/status"
BALANCER_METRICS_PATH: Final = "/_balancer/metrics"
# A node's own time per request (nodes/contract/service_time.py); the balancer's is in its status document.
NODE_SERVICE_TIME_PATH: Final = "/_node/service-time"
# The runtime API (BALANCER_ADMIN_TOKEN): add and remove nodes here, drain and re-admit them under it.
BALANCER_UPSTREAMS_PATH: Final = "/_balancer/upstreams"
# Long-lived connections on every node: a WebSocket, server-sent events, and the polling handshake that issues a
# transport id held in one node's memory (socket.io's `sid`), which a WebSocket upgrade must bring back to that node.
WS_PATH: Final = "/ws"
EVENTS_PATH: Final = "/events"
POLL_PATH: Final = "/poll"
TRANSPORT_ID_PARAM: Final = "sid"
INCR_MESSAGE: Final = "incr"  # a WebSocket client's message that adds one to the session's counter
WS_SESSION_MISSING: Final = 4401  # the close code of a WebSocket whose session this node does not see
WS_GOING_AWAY: Final = 1001  # RFC 6455: the server (a draining node, the balancer) is going away
SID_UNKNOWN: Final = "Session ID unknown"  # socket.io's words for a transport id another node issued

# Node-to-node session replication (SESSION_STORE=replicated): authenticated, and refused by the balancer.
REPLICATION_PREFIX: Final = "/_replication/"


def consistency_modes(store: str) -> tuple[str, ...]:
    """The SESSION_CONSISTENCY values a store supports."""
    return (LAST_WRITE_WINS,) if store in CAS_INCAPABLE_STORES else CONSISTENCY_MODES


def default_consistency(store: str) -> str:
    """cas wherever the store can do it: lost updates are a bug users do not ask for."""
    return consistency_modes(store)[0]

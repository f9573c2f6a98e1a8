"""A node's settings: read once from the environment at start-up, validated there, then passed down."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from cryptography.fernet import Fernet

from nodes.contract.envconfig import Env, Secret, SettingsError, Variable, without_url_passwords
from nodes.contract.names import (
    CAS,
    CAS_INCAPABLE_STORES,
    CONSISTENCY_MODES,
    DEFAULT_MAX_AGE,
    DEFAULT_SAVE,
    DEFAULT_SCHEMA,
    DEFAULT_STORE,
    DENYLIST_MODES,
    DENYLIST_OFF,
    LAST_WRITE_WINS,
    NODE_STORES,
    REPLICATED_STORE,
    REPLICATION_MODES,
    REPLICATION_SCOPES,
    ROUTE,
    ROUTING_MODES,
    SAVE_MODES,
    SCHEMA_COMPAT_MODES,
    SCHEMA_MIGRATE,
    SCHEMA_VERSIONS,
    SESSION_COOKIE,
    TOKEN_HEADER,
    TOUCH_ALWAYS,
    TOUCH_LAZY,
    TOUCH_LAZY_PREFIX,
    TOUCH_ON_CHANGE,
    default_consistency,
    default_touch,
)
from nodes.contract.sentinel_url import is_sentinel_url, parse_sentinel_url

DEFAULT_SHUTDOWN_TIMEOUT = 5.0
DEFAULT_TICK_MS = 1000
DEFAULT_REDIS_TIMEOUT = 0.5
DEFAULT_WAIT_TIMEOUT = 0.1
REDIS_URL_HELP = "a redis://, redis+cluster:// or redis+sentinel://host:port[,host:port...]/<master name> URL"

# Public on purpose: anyone can read it here, so anything it encrypts is readable too. Start-up warns loudly.
DEV_SECRET = "c2Vzc2lvbmxhYi1kZXYta2V5LW5vdC1hLXNlY3JldCE="

FERNET_KEY_HELP = (
    "one or more comma-separated Fernet keys (32 url-safe base64-encoded bytes each); make one with "
    "`python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'`"
)


@dataclass(frozen=True)
class NodeSettings:
    """Everything a node needs to know about itself, its session store and its transport."""

    node_id: str
    host: str
    port: int
    store: str
    redis_url: Secret  # may carry a password
    secrets: tuple[Secret, ...]  # Fernet keys: the first encrypts, every one decrypts
    using_dev_secret: bool
    max_age: int  # idle timeout in seconds, sliding on every request that finds the session
    cookie_secure: bool
    memory_max: int
    redis_timeout: float  # connect and read timeout for each Redis call, seconds
    consistency: str  # "cas" (no lost updates) or "last_write_wins" (aiohttp-session's behaviour)
    redis_cluster: bool  # REDIS_URL names one node of a Redis Cluster
    redis_wait: int = 0  # SESSION_REDIS_WAIT: replica acknowledgements each session write waits for (Redis WAIT)
    redis_wait_timeout: float = DEFAULT_WAIT_TIMEOUT  # seconds a write waits for them, at most
    route_tag: bool = False  # append ".<node id>" to every session reference (Tomcat's jvmRoute)
    shutdown_timeout: float = DEFAULT_SHUTDOWN_TIMEOUT  # SIGTERM: seconds in-flight requests get to finish
    tick_ms: int = DEFAULT_TICK_MS  # NODE_TICK_MS: a WebSocket or event stream gets a tick this often
    cookie_name: str = SESSION_COOKIE
    token_header: str = TOKEN_HEADER
    access_log: bool = False
    routing: str = ""  # NODE_ROUTING: the balancer's routing in front of this node (node page; route tags on)
    request_log: str = ""  # NODE_REQUEST_LOG: a file that gets the X-Request-Id of every POST (the lab's replay check)
    # SESSION_STORE=replicated (see docs/replication.md):
    peers: tuple[str, ...] = ()  # SESSION_PEERS: http://host:port and dns://name:port, this node included or not
    replication: str = "all"  # SESSION_REPLICATION: all | backup
    replication_mode: str = "sync"  # SESSION_REPLICATION_MODE: sync | async
    replication_timeout: float = 0.5  # the longest a write waits for a peer, and a heartbeat's timeout, seconds
    peer_secret: Secret | None = None  # SESSION_PEER_SECRET: authenticates peers to each other
    heartbeat_interval: float = 1.0
    startup_pull_timeout: float = 5.0
    # The session's own life (docs/session-life.md):
    pad_kb: float = 0.0  # SESSION_PAD_KB: filler put into every session at login
    touch: str = TOUCH_ALWAYS  # SESSION_TOUCH's mode: always | on-change | lazy
    touch_interval: float = 0.0  # SESSION_TOUCH=lazy:<s>: the s
    save: str = DEFAULT_SAVE  # SESSION_SAVE: always | on-change
    schema: int = DEFAULT_SCHEMA  # SESSION_SCHEMA: the stored form this node writes
    schema_compat: str = SCHEMA_MIGRATE  # SESSION_SCHEMA_COMPAT: what a schema-2 node does with a schema-1 session
    cookie_denylist: str = DENYLIST_OFF  # SESSION_COOKIE_DENYLIST: "" or redis (revoked cookie sessions, in REDIS_URL)

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, catalog: dict[str, Variable] | None = None
    ) -> NodeSettings:
        """Read and validate; with a `catalog`, every variable read is also recorded there (for `--help`)."""
        env = Env(environ, catalog)
        port = env.int("NODE_PORT", 8081, minimum=1, maximum=65535)
        secrets, using_dev = _fernet_keys(env)
        store = env.choice("SESSION_STORE", DEFAULT_STORE, NODE_STORES)
        node_id = env.parsed("NODE_ID", f"node-{port}", _node_id(port), "a short name; {hostname} and {port} expand")
        routing = env.parsed("NODE_ROUTING", "", _routing, ROUTING_HELP)
        max_age = _max_age(env)
        return cls(
            node_id=node_id,
            host=env.str("NODE_HOST", "127.0.0.1", "the address to listen on (0.0.0.0: every interface)"),
            port=port,
            store=store,
            redis_url=Secret(
                env.parsed("REDIS_URL", "redis://127.0.0.1:6379/0", _redis_url, REDIS_URL_HELP, without_url_passwords)
            ),
            secrets=secrets,
            using_dev_secret=using_dev,
            max_age=max_age,
            cookie_secure=env.bool("SESSION_COOKIE_SECURE", False),
            memory_max=env.int("SESSION_MEMORY_MAX", 100_000, minimum=1),
            redis_timeout=env.float("REDIS_TIMEOUT", DEFAULT_REDIS_TIMEOUT, minimum=0.01, maximum=60),
            redis_wait=env.int("SESSION_REDIS_WAIT", 0, minimum=0, maximum=16),
            redis_wait_timeout=_wait_timeout(env),
            consistency=_consistency(env, store),
            redis_cluster=env.bool("REDIS_CLUSTER", False) or env.str("REDIS_URL", "").startswith("redis+cluster://"),
            cookie_name=env.parsed(
                "SESSION_COOKIE_NAME", SESSION_COOKIE, _token_name, "a cookie name of [A-Za-z0-9_-]"
            ),
            access_log=env.bool("NODE_ACCESS_LOG", False),
            routing=routing,
            request_log=env.parsed("NODE_REQUEST_LOG", "", _writable_file, "a file in a folder this node can write to"),
            route_tag=_route_tag(env, node_id, routing),
            shutdown_timeout=env.float("NODE_SHUTDOWN_TIMEOUT", DEFAULT_SHUTDOWN_TIMEOUT, minimum=0.1, maximum=300),
            tick_ms=env.int("NODE_TICK_MS", DEFAULT_TICK_MS, minimum=10, maximum=3_600_000),
            **_replication(env, store),
            **_session_life(env, store, max_age),
        )

    def redis_location(self) -> str:
        """host:port/db of the Redis URL (or its Sentinels and master name), without credentials, for logs."""
        if is_sentinel_url(self.redis_url.reveal()):
            return parse_sentinel_url(self.redis_url.reveal()).describe()
        parts = urlsplit(self.redis_url.reveal())
        return f"{parts.hostname}:{parts.port or 6379}{parts.path or '/0'}"


def _max_age(env: Env) -> int:
    """SESSION_TTL is another name for SESSION_MAX_AGE: either may be set, both only to the same value."""
    max_age = env.int("SESSION_MAX_AGE", DEFAULT_MAX_AGE, minimum=1)
    ttl = env.int("SESSION_TTL", max_age, minimum=1)
    if env.raw("SESSION_MAX_AGE") is not None and ttl != max_age:
        raise SettingsError(
            f"SESSION_TTL={ttl} and SESSION_MAX_AGE={max_age} disagree: they name the same idle timeout, set one"
        )
    return ttl


TOUCH_HELP = (
    f"{TOUCH_ALWAYS}, {TOUCH_ON_CHANGE} or {TOUCH_LAZY_PREFIX}<seconds>: when a request that only reads the session "
    "refreshes its idle timeout in the store"
)


def _session_life(env: Env, store: str, max_age: int) -> dict[str, Any]:
    """Size, touch and save policies, the stored schema and the cookie deny-list (docs/session-life.md)."""
    touch, interval = env.parsed("SESSION_TOUCH", default_touch(store, max_age), _touch, TOUCH_HELP), 0.0
    if touch.startswith(TOUCH_LAZY_PREFIX):
        touch, interval = TOUCH_LAZY, float(touch.removeprefix(TOUCH_LAZY_PREFIX))
    denylist = env.choice("SESSION_COOKIE_DENYLIST", DENYLIST_OFF, DENYLIST_MODES)
    return {
        "pad_kb": env.float("SESSION_PAD_KB", 0.0, minimum=0, maximum=1024),
        "touch": touch,
        "touch_interval": interval,
        "save": env.choice("SESSION_SAVE", DEFAULT_SAVE, SAVE_MODES),
        "schema": int(env.choice("SESSION_SCHEMA", str(DEFAULT_SCHEMA), [str(v) for v in SCHEMA_VERSIONS])),
        "schema_compat": env.choice("SESSION_SCHEMA_COMPAT", SCHEMA_MIGRATE, SCHEMA_COMPAT_MODES),
        "cookie_denylist": denylist,
    }


def _touch(value: str) -> str:
    if value in (TOUCH_ALWAYS, TOUCH_ON_CHANGE):
        return value
    seconds = value.removeprefix(TOUCH_LAZY_PREFIX)
    try:
        interval = float(seconds)
    except ValueError:
        raise ValueError("") from None
    if not value.startswith(TOUCH_LAZY_PREFIX) or not 0 < interval < 1e9:
        raise ValueError("a lazy interval is a number of seconds above 0")
    return value


def _consistency(env: Env, store: str) -> str:
    mode = env.choice("SESSION_CONSISTENCY", default_consistency(store), CONSISTENCY_MODES)
    if mode == CAS and store in CAS_INCAPABLE_STORES:
        raise SettingsError(
            f"SESSION_CONSISTENCY={CAS!r} is invalid with SESSION_STORE={store!r}: the client holds cookie sessions, "
            f"so concurrent writes cannot be detected; expected {LAST_WRITE_WINS}, or a memory or redis store"
        )
    return mode


MIN_PEER_SECRET = 16
# Environments whose reads, together, reach every variable a node knows (some are read in one mode only): for
# `sessionlab node --help` and the tests that check a variable is one the node reads.
EVERY_MODE: tuple[dict[str, str], ...] = (
    {},
    {"SESSION_STORE": REPLICATED_STORE, "SESSION_PEER_SECRET": "x" * MIN_PEER_SECRET, "SESSION_ROUTE_TAG": "1"},
)


def _replication(env: Env, store: str) -> dict[str, Any]:
    """The replicated store's settings; SESSION_PEER_SECRET is required with it and never echoed."""
    if store != REPLICATED_STORE:
        return {}
    secret = env.raw(
        "SESSION_PEER_SECRET", "required with replicated", f"{MIN_PEER_SECRET}+ characters, the same on every node"
    )
    if secret is None or len(secret) < MIN_PEER_SECRET:
        raise SettingsError(
            f"SESSION_PEER_SECRET is {'too short' if secret else 'required'} with SESSION_STORE=replicated: "
            f"expected a shared secret of at least {MIN_PEER_SECRET} characters, the same on every node"
        )
    return {
        "peers": env.parsed(
            "SESSION_PEERS", _no_peers(), _peer_list, "comma-separated http://host:port or dns://name:port"
        ),
        "replication": env.choice("SESSION_REPLICATION", "all", REPLICATION_SCOPES),
        "replication_mode": env.choice("SESSION_REPLICATION_MODE", "sync", REPLICATION_MODES),
        "replication_timeout": env.float("SESSION_REPLICATION_TIMEOUT", 0.5, minimum=0.01, maximum=60),
        "peer_secret": Secret(secret),
        "heartbeat_interval": env.float("SESSION_HEARTBEAT_INTERVAL", 1.0, minimum=0.05, maximum=60),
        "startup_pull_timeout": env.float("SESSION_STARTUP_PULL_TIMEOUT", 5.0, minimum=0.1, maximum=600),
    }


ROUTING_HELP = (
    f"one of {', '.join(ROUTING_MODES)}: the balancer's routing in front of this node, shown on its page; "
    f"{ROUTE} also turns SESSION_ROUTE_TAG on unless that is set"
)


def _routing(value: str) -> str:
    if value not in ROUTING_MODES:
        raise ValueError("")
    return value


def _no_peers() -> tuple[str, ...]:
    return ()


def _peer_list(value: str) -> tuple[str, ...]:
    from nodes.stores.replication.peers import parse_peer  # here: nodes.stores imports these settings

    peers = tuple(item.strip() for item in value.split(",") if item.strip())
    for peer in peers:
        parse_peer(peer)
    return peers


def _wait_timeout(env: Env) -> float:
    """A WAIT must end before the Redis call's own read timeout, or the socket timeout would cut it."""
    redis_timeout = env.float("REDIS_TIMEOUT", DEFAULT_REDIS_TIMEOUT, minimum=0.01, maximum=60)
    seconds = env.float("SESSION_REDIS_WAIT_TIMEOUT", DEFAULT_WAIT_TIMEOUT, minimum=0.001, maximum=60)
    if seconds >= redis_timeout:
        raise SettingsError(
            f"SESSION_REDIS_WAIT_TIMEOUT={seconds:g} is invalid: expected less than REDIS_TIMEOUT ({redis_timeout:g} s)"
        )
    return seconds


def _route_tag(env: Env, node_id: str, routing: str) -> bool:
    """With tagging on, NODE_ID goes into cookies and headers: it must be a cookie-safe token. On by default behind
    `route` routing (NODE_ROUTING=route), which routes on the tag."""
    if not env.bool("SESSION_ROUTE_TAG", routing == ROUTE):
        return False
    if not _is_token(node_id):
        raise SettingsError(
            f"NODE_ID={node_id!r} is invalid with SESSION_ROUTE_TAG=1: expected letters, digits, '_' and '-' only "
            "(it is appended to every session reference)"
        )
    return True


def _fernet_keys(env: Env) -> tuple[tuple[Secret, ...], bool]:
    raw = env.raw("SESSION_SECRET", "the public development key (start-up warns)", FERNET_KEY_HELP)
    if raw is None:
        return (Secret(DEV_SECRET),), True
    keys = [item.strip() for item in raw.split(",") if item.strip()]
    for index, key in enumerate(keys, start=1):
        try:
            Fernet(key)
        except ValueError:
            # Never echo a secret: say which item is wrong and its length.
            raise SettingsError(
                f"SESSION_SECRET item {index} of {len(keys)} ({len(key)} characters, value hidden) is invalid: "
                f"expected {FERNET_KEY_HELP}"
            ) from None
    if not keys:
        raise SettingsError(f"SESSION_SECRET is empty: expected {FERNET_KEY_HELP}")
    return tuple(Secret(key) for key in keys), False


def _node_id(port: int) -> Callable[[str], str]:
    """NODE_ID may say `{hostname}` (and `{port}`): replicas scaled from one template get distinct ids."""

    def expand(value: str) -> str:
        try:
            expanded = value.format(hostname=socket.gethostname(), port=port)
        except (KeyError, IndexError, ValueError):
            raise ValueError("unknown placeholder or stray brace") from None
        if not expanded.isprintable() or len(expanded) > 64:
            raise ValueError("at most 64 printable characters")
        return expanded

    return expand


def _redis_url(value: str) -> str:
    if is_sentinel_url(value):
        parse_sentinel_url(value)  # ValueError names what is wrong
        return value
    parts = urlsplit(value)
    if parts.scheme not in ("redis", "rediss", "unix", "redis+cluster") or not (parts.hostname or parts.path):
        raise ValueError("")
    return value


def _token_name(value: str) -> str:
    if not _is_token(value):
        raise ValueError("")
    return value


def _is_token(value: str) -> bool:
    """[A-Za-z0-9_-]+: safe in a cookie value and a header, and never holding the route separator."""
    return value.replace("_", "").replace("-", "").isalnum() and value.isascii()


def _writable_file(value: str) -> str:
    """NODE_REQUEST_LOG: refused at start-up when its folder does not exist or cannot be written (a run that records
    no POST would report no replays, wrongly)."""
    folder = os.path.dirname(os.path.abspath(value))
    if not os.path.isdir(folder) or not os.access(folder, os.W_OK):
        raise ValueError(f"cannot write to {folder}")
    return value

"""The balancer's settings: read once from BALANCER_* env vars at start-up, validated there, then passed down."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from yarl import URL

from balancer.data_path import AUTO, DATA_PATH_CHOICES, DATA_PATH_ENV
from balancer.discovery import DnsTarget
from nodes.contract.envconfig import Env, Secret, SettingsError, Variable
from nodes.contract.names import (
    AFFINITY_COOKIE,
    DEFAULT_ROUTING,
    DNS_SCHEME,
    ROUTING_MODES,
    SESSION_COOKIE,
    TOKEN_HEADER,
)

# Public on purpose: anyone can compute affinity cookies with it. Start-up warns loudly when it is in use.
DEV_ROUTE_SECRET = "sessionlab-development-route-secret-not-a-secret"
MIN_SECRET_LENGTH = 16

_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")  # RFC 9110 token: valid cookie and header names
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


@dataclass(frozen=True, slots=True)
class BalancerSettings:
    """Everything the balancer needs: where it listens, where the nodes are, how it routes and how long it waits."""

    upstreams: tuple[str, ...]  # static normalized origins, e.g. "http://127.0.0.1:8081"
    host: str = "127.0.0.1"
    port: int = 8080
    routing: str = DEFAULT_ROUTING
    health_interval: float = 1.0
    health_timeout: float = 1.0
    health_path: str = "/healthz"
    sticky_cookie: str = AFFINITY_COOKIE
    sticky_ttl: int = 0  # BALANCER_STICKY_TTL: the affinity cookie's Max-Age, sliding; 0 = a browser-session cookie
    session_cookie: str = SESSION_COOKIE
    session_header: str = TOKEN_HEADER
    route_secret: Secret = Secret(DEV_ROUTE_SECRET)
    admin_token: Secret | None = None  # the runtime API exists only when it is set
    hash_vnodes: int = 160
    max_connections: int = 1000
    connect_timeout: float = 2.0
    read_timeout: float = 30.0
    shutdown_timeout: float = 10.0
    tunnel_timeout: float = 3600.0  # an idle tunnel (WebSocket, any upgrade) is closed after this long
    drain_timeout: float = 30.0  # a draining node's open tunnels are closed (1001) after this long
    tunnel_rebalance: float = 0.0  # when a node joins, this fraction of the other nodes' tunnels is closed (1001)
    access_log: bool = False
    log_level: str = "INFO"
    discover: tuple[DnsTarget, ...] = ()  # dns://name:port items, resolved and re-resolved at run time
    dns_interval: float = 2.0
    data_path: str = AUTO  # BALANCER_DATA_PATH: compiled, interpreted, or auto (compiled where built)

    @property
    def using_dev_secret(self) -> bool:
        return self.route_secret == Secret(DEV_ROUTE_SECRET)

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, catalog: dict[str, Variable] | None = None
    ) -> BalancerSettings:
        """Read and validate; with a `catalog`, every variable read is also recorded there (for `--help`)."""
        env = Env(environ, catalog)
        static, discover = split_upstreams(env.required("BALANCER_UPSTREAMS", _UPSTREAMS_HELP))
        return cls(
            upstreams=static,
            discover=discover,
            dns_interval=env.float("BALANCER_DNS_INTERVAL", 2.0, minimum=0.1, maximum=3600),
            host=env.str("BALANCER_HOST", "127.0.0.1", "the address to listen on (0.0.0.0: every interface)"),
            port=env.int("BALANCER_PORT", 8080, minimum=1, maximum=65535),
            routing=env.choice("BALANCER_ROUTING", DEFAULT_ROUTING, ROUTING_MODES),
            health_interval=env.float("BALANCER_HEALTH_INTERVAL", 1.0, minimum=0.01, maximum=3600),
            health_timeout=env.float("BALANCER_HEALTH_TIMEOUT", 1.0, minimum=0.01, maximum=60),
            health_path=env.parsed("BALANCER_HEALTH_PATH", "/healthz", _path, "a path starting with /"),
            sticky_cookie=env.parsed("BALANCER_STICKY_COOKIE", AFFINITY_COOKIE, _token, "a cookie name"),
            sticky_ttl=env.int("BALANCER_STICKY_TTL", 0, minimum=0, maximum=400 * 86400),
            session_cookie=env.parsed("BALANCER_SESSION_COOKIE", SESSION_COOKIE, _token, "a cookie name"),
            session_header=env.parsed("BALANCER_SESSION_HEADER", TOKEN_HEADER, _token, "a header name"),
            route_secret=_route_secret(env),
            admin_token=_admin_token(env),
            hash_vnodes=env.int("BALANCER_HASH_VNODES", 160, minimum=1, maximum=10_000),
            max_connections=env.int("BALANCER_MAX_CONNECTIONS", 1000, minimum=0),
            connect_timeout=env.float("BALANCER_CONNECT_TIMEOUT", 2.0, minimum=0.01, maximum=600),
            read_timeout=env.float("BALANCER_READ_TIMEOUT", 30.0, minimum=0.01, maximum=3600),
            shutdown_timeout=env.float("BALANCER_SHUTDOWN_TIMEOUT", 10.0, minimum=0, maximum=3600),
            tunnel_timeout=env.float("BALANCER_TUNNEL_TIMEOUT", 3600.0, minimum=0.01, maximum=7 * 86400),
            drain_timeout=env.float("BALANCER_DRAIN_TIMEOUT", 30.0, minimum=0, maximum=86400),
            tunnel_rebalance=env.float("BALANCER_TUNNEL_REBALANCE", 0.0, minimum=0, maximum=1),
            access_log=env.bool("BALANCER_ACCESS_LOG", False),
            log_level=env.choice("BALANCER_LOG_LEVEL", "INFO", LOG_LEVELS),
            data_path=env.choice(DATA_PATH_ENV, AUTO, DATA_PATH_CHOICES),
        )


_UPSTREAMS_HELP = (
    "comma-separated node base URLs such as http://127.0.0.1:8081,http://127.0.0.1:8082, "
    "or dns://name:port for every address a name resolves to"
)


def parse_upstreams(value: str) -> tuple[str, ...]:
    """Comma-separated base URLs → normalized origins (static items only)."""
    return split_upstreams(value)[0]


def split_upstreams(value: str) -> tuple[tuple[str, ...], tuple[DnsTarget, ...]]:
    """Comma-separated items → (static normalized origins, DNS targets); every mistake names the offending item."""
    items = [item.strip() for item in value.split(",") if item.strip()]
    if not items:
        raise SettingsError(f"BALANCER_UPSTREAMS is empty: expected {_UPSTREAMS_HELP}")
    origins: list[str] = []
    targets: list[DnsTarget] = []
    for item in items:
        if item.lower().startswith(DNS_SCHEME):
            target = _dns_target(item)
            if target in targets:
                raise SettingsError(f"BALANCER_UPSTREAMS lists {target} twice: expected each name once")
            targets.append(target)
            continue
        origin = _origin(item)
        if origin in origins:
            raise SettingsError(f"BALANCER_UPSTREAMS lists {origin} twice: expected each node once")
        origins.append(origin)
    return tuple(origins), tuple(targets)


def _dns_target(item: str) -> DnsTarget:
    try:
        url = URL(item)
        port = url.explicit_port
    except ValueError:
        url, port = None, None
    if url is None or not url.host or port is None or url.path not in ("", "/") or "@" in item:
        raise SettingsError(f"BALANCER_UPSTREAMS item {item!r} is invalid: expected dns://name:port")
    return DnsTarget(url.host, port)


def _origin(item: str) -> str:
    try:
        return node_origin(item)
    except ValueError as error:
        # The message never holds the item when it carries credentials (no password is ever echoed).
        shown = "" if "@" in item else f" {item!r}"
        raise SettingsError(f"BALANCER_UPSTREAMS item{shown} {error}") from None


def node_origin(item: str) -> str:
    """A node base URL normalized to its origin (`http://host:port`); ValueError says what is wrong with it. Shared
    by the settings and the runtime API."""
    try:
        url = URL(item)
        port = url.port  # raises on a malformed port
    except ValueError:
        url, port = None, None
    if "@" in item:  # checked first, so that no message can echo a password
        raise ValueError("must not carry credentials: expected http://host:port")
    if url is None or url.scheme not in ("http", "https") or not url.host or port is None:
        raise ValueError("is invalid: expected http://host:port")
    if url.path not in ("", "/") or url.query_string or url.fragment:
        raise ValueError("has a path or query: expected http://host:port")
    return str(URL.build(scheme=url.scheme, host=url.host, port=port))


def _admin_token(env: Env) -> Secret | None:
    value = env.raw("BALANCER_ADMIN_TOKEN", "unset: no runtime API", f"{MIN_SECRET_LENGTH}+ characters")
    if value is not None and len(value) < MIN_SECRET_LENGTH:
        raise SettingsError(
            f"BALANCER_ADMIN_TOKEN is too short ({len(value)} characters): expected at least {MIN_SECRET_LENGTH}"
        )
    return None if value is None else Secret(value)


def _route_secret(env: Env) -> Secret:
    value = env.raw("BALANCER_ROUTE_SECRET", "the public development secret", f"{MIN_SECRET_LENGTH}+ characters")
    if value is None:
        return Secret(DEV_ROUTE_SECRET)
    if len(value) < MIN_SECRET_LENGTH:
        # Never echo a secret, not even a wrong one: say what is wrong with it.
        raise SettingsError(
            f"BALANCER_ROUTE_SECRET is too short ({len(value)} characters): expected at least {MIN_SECRET_LENGTH}"
        )
    return Secret(value)


def _token(value: str) -> str:
    if not _TOKEN.match(value):
        raise ValueError("only letters, digits and !#$%&'*+-.^_`|~")
    return value


def _path(value: str) -> str:
    if not value.startswith("/") or any(ch.isspace() for ch in value):
        raise ValueError("no spaces")
    return value

"""What each balancer does with long-lived connections: the config lines that carry an upgrade (WebSocket) and
stream an event stream through, and whether it can close a share of its open connections when a node joins
(`--rebalance`). Read by `compare` (a cell asking for what a balancer lacks says "not offered", and why) and the
docs.
"""

from __future__ import annotations

from loadtest.lab.balancers.mechanisms import BALANCER_NAMES, LABELS, Mechanism
from loadtest.render.table import Table

_M = Mechanism
UPGRADE: dict[str, Mechanism] = {
    "sessionlab": _M("the node's 101 relayed, then both sockets spliced (BALANCER_TUNNEL_TIMEOUT)"),
    "nginx": _M("`proxy_http_version 1.1` + `proxy_set_header Upgrade $http_upgrade` + `Connection` from a `map`"),
    "haproxy": _M("upgrades by default in `mode http`; `timeout tunnel 1h`"),
    "caddy": _M("`reverse_proxy` upgrades by default"),
    "apache": _M("`upgrade=websocket` on each `BalancerMember` (mod_proxy_http, 2.4.47+)"),
}
REBALANCE: dict[str, Mechanism] = {
    "sessionlab": _M("BALANCER_TUNNEL_REBALANCE (a share of the other nodes' tunnels closed, 1001, on a join)"),
    "nginx": _M(None, "nginx open source cannot close some open upstream connections when a server is added: a "
                "reload leaves the old worker serving every WebSocket until it ends (`worker_shutdown_timeout` "
                "closes all of them)"),
    "haproxy": _M(None, "HAProxy closes a server's sessions all at once (`shutdown sessions server` on the runtime "
                  "API), never a share of them when another server joins"),
    "caddy": _M(None, "Caddy keeps upgraded connections across a config change (or closes all of them after "
                "`stream_close_delay`); it cannot close a share when an upstream joins"),
    "apache": _M(None, "mod_proxy_http cannot close a share of its tunnelled connections when a member joins; a "
                 "graceful restart leaves them open"),
}  # fmt: skip


def long_lived_offer(balancer: str, *, rebalance: bool) -> Mechanism:
    """What a long-lived cell needs from `balancer`: the upgrade, and with `rebalance` closing a share on a join."""
    return REBALANCE[balancer] if rebalance and not REBALANCE[balancer].offered else UPGRADE[balancer]


def markdown_table() -> str:
    """The long-lived table as markdown, for the docs."""
    rows = [[LABELS[b], UPGRADE[b].describe(), REBALANCE[b].describe()] for b in BALANCER_NAMES]
    return Table(["balancer", "WebSocket upgrade and SSE", "`--rebalance`"], rows, align="lll").markdown()

"""The routing mode → native mechanism table, written once: the docs, the report and the plug-ins read it.

A cell of the table is the directive that gives the mode on that balancer, or None with the reason it is not
offered and what would provide it.
"""

from __future__ import annotations

from dataclasses import dataclass

from loadtest.render.table import Table
from nodes.contract.names import HASH, RANDOM, ROUND_ROBIN, ROUTE, STICKY


@dataclass(frozen=True)
class Mechanism:
    """How one balancer gives one routing mode (`directive`), or why it does not (`not_offered`)."""

    directive: str | None
    not_offered: str = ""
    note: str = ""  # what the mode does differently there (e.g. app clients not pinned)

    @property
    def offered(self) -> bool:
        return self.directive is not None

    def describe(self) -> str:
        if self.directive is None:
            return f"not offered: {self.not_offered}"
        return self.directive + (f" ({self.note})" if self.note else "")


BALANCER_NAMES = ("sessionlab", "nginx", "haproxy", "caddy", "apache")
LABELS = {"sessionlab": "sessionlab", "nginx": "nginx", "haproxy": "HAProxy", "caddy": "Caddy",
          "apache": "Apache httpd"}  # fmt: skip

_M = Mechanism
TABLE: dict[str, dict[str, Mechanism]] = {
    RANDOM: {
        "sessionlab": _M("BALANCER_ROUTING=random"),
        "nginx": _M("`random`"),
        "haproxy": _M("`balance random`"),
        "caddy": _M("`lb_policy random`"),
        "apache": _M("`lbmethod=byrequests`", note="weighted rotation: Apache has no random method"),
    },
    ROUND_ROBIN: {
        "sessionlab": _M("BALANCER_ROUTING=round_robin"),
        "nginx": _M("round robin (the default)"),
        "haproxy": _M("`balance roundrobin`"),
        "caddy": _M("`lb_policy round_robin`"),
        "apache": _M("`lbmethod=byrequests`"),
    },
    STICKY: {
        "sessionlab": _M("BALANCER_ROUTING=sticky (HMAC cookie SL_ROUTE, redispatch)"),
        "nginx": _M(None, "nginx open source has no cookie-insert stickiness: that is nginx Plus `sticky cookie`"),
        "haproxy": _M("`cookie SL_ROUTE insert indirect nocache` + `option redispatch`"),
        "caddy": _M("`lb_policy cookie SL_ROUTE`"),
        "apache": _M("`stickysession=SL_ROUTE` + `route=` per member + the mod_headers `Set-Cookie` recipe"),
    },
    HASH: {
        "sessionlab": _M("BALANCER_ROUTING=hash (ring on the session id)"),
        "nginx": _M("`hash $sl_session_key consistent` (`map`: the SL_SESSION cookie, else X-Session-Token)"),
        "haproxy": _M("`balance hash var(txn.sl_key)` + `hash-type consistent` (cookie, else header)"),
        "caddy": _M("`lb_policy header X-Sl-Key` (rendezvous hash; `request_header` copies cookie or token)"),
        "apache": _M(
            None,
            "mod_proxy_balancer has no hash method (lbmethods: byrequests, bytraffic, bybusyness, "
            "heartbeat); HAProxy or nginx `hash ... consistent` provide it",
        ),  # fmt: skip
    },
    ROUTE: {
        "sessionlab": _M("BALANCER_ROUTING=route (the tag after the reference's '.')"),
        "nginx": _M("`map` from the tag to a per-node `upstream` with the others as `backup`"),
        "haproxy": _M("`use-server NODE if { var(txn.sl_ref) -m end .NODE }` + `option redispatch`"),
        "caddy": _M(
            None,
            "Caddy has no selection by a part of the session id (its policies: random, round_robin, "
            "least_conn, first, ip_hash, uri_hash, header, cookie); a `handle` per tag with its own "
            "`reverse_proxy` would provide it",
        ),  # fmt: skip
        "apache": _M(
            "`stickysession=SL_SESSION|SL_SESSION` with `route=NODE` per member (mod_jk's jvmRoute)",
            note="reads a cookie or URL parameter: app clients' X-Session-Token is not pinned",
        ),  # fmt: skip
    },
}

# Where a mode pins fewer clients than ours: the routing whose theory describes what the balancer does.
THEORY_ROUTING = {("apache", ROUTE): STICKY}  # browsers pinned by the cookie, app clients spread


def mechanism(balancer: str, mode: str) -> Mechanism:
    """The table's cell (KeyError for a mode or balancer it does not know)."""
    return TABLE[mode][balancer]


def markdown_table() -> str:
    """The table as markdown, for the docs and report.md."""
    headers = ["mode", *(LABELS[b] for b in BALANCER_NAMES)]
    rows = [[mode, *(TABLE[mode][b].describe() for b in BALANCER_NAMES)] for mode in TABLE]
    return Table(headers, rows, align="l" * len(headers)).markdown()

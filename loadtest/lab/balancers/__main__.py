"""`python -m loadtest.lab.balancers render|serve`: a balancer's config from the lab's templates, outside the lab.

docker compose's `front` service runs `serve`: it renders the config for BALANCER (nginx, haproxy, caddy, apache)
in BALANCER_ROUTING mode in front of FRONT_UPSTREAMS (`name=host:port,...`, default FRONT_NODES replicas of the
`node` service) on port 8080, then becomes that balancer (exec, in the foreground). `render` only writes the files.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from loadtest.lab.balancers import BALANCERS, Front, Upstream, mechanism
from nodes.contract.names import DEFAULT_ROUTING, ROUTING_MODES

DEFAULT_FOLDER = Path("/tmp/sessionlab-front")  # noqa: S108 - inside the container
COMPOSE_NODE = "sessionlab-node-{index}:8081"  # a replica of compose's `node` service, by container name


def upstreams(text: str, count: int) -> list[Upstream]:
    """`name=host:port,...`, or `count` replicas of compose's node service."""
    if not text:
        return [Upstream(f"node-{i}", COMPOSE_NODE.format(index=i)) for i in range(1, count + 1)]
    pairs = [item.strip().partition("=") for item in text.split(",") if item.strip()]
    return [Upstream(name, address) for name, _, address in pairs]


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m loadtest.lab.balancers", description=__doc__)
    parser.add_argument("action", choices=("render", "serve"))
    parser.add_argument("--balancer", default=os.environ.get("BALANCER", "nginx"),
                        choices=[name for name in BALANCERS if name != "sessionlab"])  # fmt: skip
    parser.add_argument("--routing", default=os.environ.get("BALANCER_ROUTING", DEFAULT_ROUTING))
    parser.add_argument("--upstreams", default=os.environ.get("FRONT_UPSTREAMS", ""))
    parser.add_argument("--nodes", type=int, default=int(os.environ.get("FRONT_NODES", "3")))
    parser.add_argument("--listen", default=os.environ.get("FRONT_LISTEN", "0.0.0.0:8080"))  # noqa: S104
    parser.add_argument("--folder", type=Path, default=DEFAULT_FOLDER)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    offer = mechanism(args.balancer, args.routing) if args.routing in ROUTING_MODES else None
    if offer is None or not offer.offered:
        reason = offer.not_offered if offer else "unknown routing mode"
        print(f"{args.balancer} {args.routing}: not offered: {reason}", file=sys.stderr)
        return 2
    host, _, port = args.listen.rpartition(":")
    front = Front(args.routing, host, int(port), args.folder.resolve(), upstreams(args.upstreams, args.nodes))
    plugin = BALANCERS[args.balancer](front)
    plugin.write_config()
    if args.action == "render":
        print("\n".join(str(front.folder / name) for name in plugin.config_files()))
        return 0
    if plugin.binary() is None:
        print(plugin.missing(), file=sys.stderr)
        return 1
    plugin.prepare()
    argv_ = plugin.argv()
    os.chdir(front.folder)
    os.execve(argv_[0], argv_, plugin.env() or dict(os.environ))  # noqa: S606 - the balancer, in the foreground
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main())

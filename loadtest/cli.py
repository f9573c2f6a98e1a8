"""The `sessionlab` command: one entry point whose subcommands live in the package that owns them."""

from __future__ import annotations

import importlib
import sys

from nodes.contract.registry import Registry

# subcommand -> (module with a `main(argv) -> int`, one-line help); imported only when its command runs
SUBCOMMANDS: Registry[tuple[str, str]] = Registry(
    "command",
    {
        "node": ("nodes.__main__", "run one aiohttp node (settings from NODE_*/SESSION_*/REDIS_URL env vars)"),
        "balancer": ("balancer.__main__", "run the reverse proxy (settings from BALANCER_* env vars)"),
        "cluster": (
            "loadtest.lab.cluster_command",
            "run a local cluster: N nodes + balancer + redis, in the foreground",
        ),
        "compare": (
            "loadtest.compare.command",
            "the main job: run the routing x store x scenario matrix and write a report",
        ),
        "probe": (
            "loadtest.probe.command",
            "measure YOUR deployment: session misses and backend affinity through its real balancer",
        ),
        "bench": (
            "loadtest.bench.command",
            "measure the balancer against nginx and HAProxy, and the session stores, side by side",
        ),
    }.items(),
)


def usage() -> str:
    lines = ["usage: sessionlab <command> [options]", "", "commands:"]
    lines += [f"  {name:<10} {text}" for name, (_, text) in SUBCOMMANDS.items()]
    lines += ["", "`sessionlab <command> --help` shows a command's options."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] in ("-h", "--help", "help"):
        print(usage())
        return 0
    command, rest = args[0], args[1:]
    if command not in SUBCOMMANDS:
        print(f"sessionlab: unknown command {command!r}\n\n{usage()}", file=sys.stderr)
        return 2
    module = importlib.import_module(SUBCOMMANDS[command][0])
    return int(module.main(rest) or 0)


if __name__ == "__main__":
    raise SystemExit(main())

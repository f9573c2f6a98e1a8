"""The `sessionlab` command: one entry point whose subcommands live in the package that owns them."""

from __future__ import annotations

import importlib
import sys

from nodes.contract.envhelp import package_version
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
        "repeat": (
            "loadtest.compare.fidelity.repeat",
            "run one compare N times: per cell, how often it agreed with theory (default bar: 19 of 20)",
        ),
        "probe": (
            "loadtest.probe.command",
            "measure YOUR deployment: session misses and backend affinity through its real balancer",
        ),
        "build-balancer": (
            "balancer.compile_data_path",
            "compile the balancer's data path with mypyc (once per source): about 15% less CPU per request",
        ),
        "bench": (
            "loadtest.bench.command",
            "measure the balancer against nginx and HAProxy, and the session stores, side by side",
        ),
    }.items(),
)


def usage() -> str:
    lines = ["usage: sessionlab [--version] <command> [options]", "", "commands:"]
    lines += [f"  {name:<14} {text}" for name, (_, text) in SUBCOMMANDS.items()]
    lines += ["", "`sessionlab <command> --help` shows a command's options."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] in ("-h", "--help", "help"):
        print(usage())
        return 0
    if args[0] in ("--version", "-V", "version"):
        print(f"sessionlab {package_version()}")
        return 0
    command, rest = args[0], args[1:]
    if command not in SUBCOMMANDS:
        known = ", ".join(SUBCOMMANDS)
        print(f"sessionlab: unknown command {command!r}: expected one of {known} (sessionlab --help)", file=sys.stderr)
        return 2
    module = importlib.import_module(SUBCOMMANDS[command][0])
    try:
        return int(module.main(rest) or 0)
    except OSError as error:
        if error.filename is None:
            raise  # not a path the user gave: a bug, and its traceback is what finds it
        # A folder or file the user named cannot be used (missing, not a folder, not writable): one line.
        print(f"sessionlab {command}: cannot use {error.filename}: {error.strerror or error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())

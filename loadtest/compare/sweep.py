"""The matrix's two sweeps beyond routing x store x scenario: the node count (`--nodes 2,3,5`) and the replicated
store's modes (`--replication all-sync,all-async,backup-sync`, one cell each)."""

from __future__ import annotations

import argparse

from loadtest.lab.replication import DEFAULT_REPLICATION, REPLICATIONS
from nodes.contract.names import REPLICATED_STORE


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """--replication and --nodes."""
    parser.add_argument("--replication", type=_modes, default=(DEFAULT_REPLICATION,),
                        help="the replicated store's modes, one cell each: comma-separated subset of "
                             f"{','.join(REPLICATIONS)} (default {DEFAULT_REPLICATION})")  # fmt: skip
    parser.add_argument(
        "--nodes",
        type=_counts,
        default=(3,),
        help="nodes per cluster; a comma-separated list (2,3,5) sweeps the node count (default 3)",
    )


def stores_with_modes(stores: tuple[str, ...], replications: tuple[str, ...]) -> list[tuple[str, str | None]]:
    """Each store once; the replicated store once per replication mode."""
    return [(store, mode) for store in stores for mode in (replications if store == REPLICATED_STORE else (None,))]


def _modes(value: str) -> tuple[str, ...]:
    modes = tuple(item.strip() for item in value.split(",") if item.strip())
    if not modes or any(mode not in REPLICATIONS for mode in modes):
        raise argparse.ArgumentTypeError(f"{value!r}: expected a comma-separated subset of {','.join(REPLICATIONS)}")
    return modes


def _counts(value: str) -> tuple[int, ...]:
    try:
        counts = tuple(int(item) for item in value.split(",") if item.strip())
    except ValueError:
        counts = ()
    if not counts:
        raise argparse.ArgumentTypeError(f"{value!r}: expected a node count or a comma-separated list (2,3,5)")
    return counts

"""`sessionlab compare` options for numbers you can trust: open loop, capacity search, outside cross-check.

`--arrival-rate R [--poisson]` turns the matrix cells open-loop; `--capacity [--slo-ms MS]` and
`--cross-check` replace the matrix with their own runs (loadtest/compare/fidelity/run.py). Both take --users,
--duration, --workers, --nodes, --store and --routing; --cross-check takes --arrival-rate too (its rate), --capacity
refuses it (it searches the rate), and both refuse the matrix's --scenario, --all and --quick at parse time.
"""

from __future__ import annotations

import argparse
from typing import Any

from loadtest.compare.fidelity.capacity import DEFAULT_SLO_MS, MAX_STEPS

CROSS_CHECK_RATE, CROSS_CHECK_CONNECTIONS, CROSS_CHECK_DURATION = 150.0, 10, 16.0
CAPACITY_STEP_DURATION = 8.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--arrival-rate", type=float,
                        help="open loop: requests/s in total on a fixed schedule, whatever the answers; each "
                             "user's requests stay in order on its own session; latency counts from the intended "
                             "start")  # fmt: skip
    parser.add_argument("--poisson", action="store_true", help="open loop with Poisson arrivals (exponential gaps)")
    parser.add_argument("--capacity", action="store_true",
                        help="per routing x store, find the highest arrival rate whose p99 stays within --slo-ms "
                             "with errors <= 0.1%% (steps up, then bisects; default routing sticky)")  # fmt: skip
    parser.add_argument("--capacity-steps", type=int, default=MAX_STEPS,
                        help=f"most runs per --capacity search (default {MAX_STEPS})")  # fmt: skip
    parser.add_argument("--slo-ms", type=float, default=DEFAULT_SLO_MS,
                        help=f"the p99 bound of --capacity, ms (default {DEFAULT_SLO_MS:g})")  # fmt: skip
    parser.add_argument("--cross-check", action="store_true",
                        help="one cell (first --store/--routing, default memory/sticky) at --arrival-rate (default "
                             f"{CROSS_CHECK_RATE:g}) on --users connections (default {CROSS_CHECK_CONNECTIONS}), "
                             "GET /me only, then `hey` at the same rate and connections on the same "
                             "cluster")  # fmt: skip


def check_arguments(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if args.arrival_rate is not None and args.arrival_rate <= 0:
        parser.error("--arrival-rate must be > 0")
    if args.slo_ms <= 0 or args.capacity_steps < 1:
        parser.error("--slo-ms must be > 0 and --capacity-steps >= 1")
    if args.capacity and args.cross_check:
        parser.error("--capacity and --cross-check are separate runs: choose one")
    if args.poisson and not (args.arrival_rate or args.capacity or args.cross_check):
        parser.error("--poisson needs an open-loop run (--arrival-rate, --capacity or --cross-check)")
    if args.duration is not None and (args.duration < 1 or args.duration != int(args.duration)):
        parser.error("--duration must be a whole number of seconds >= 1 (locust's run time takes whole seconds)")
    if args.capacity and args.arrival_rate is not None:
        parser.error("--capacity searches the arrival rate itself: drop --arrival-rate")
    own_run = "--capacity" if args.capacity else "--cross-check" if args.cross_check else None
    matrix_only = [flag for flag, given in (("--scenario", args.scenario), ("--all", args.all), ("--quick", args.quick))
                   if given]  # fmt: skip
    if own_run and matrix_only:
        parser.error(f"{own_run} runs its own steady cells, not the matrix: drop {', '.join(matrix_only)}")


def summary_suffix(cell: dict[str, Any]) -> str:
    """The progress line's open-loop part: rate asked and achieved, late starts, the generator's CPU share."""
    if cell.get("load_model") != "open":
        return _cpu(cell)
    flag = f" GENERATOR BEHIND ({cell['generator_note']})" if cell.get("generator_behind") else ""
    return (f" | open {cell['arrival_rate']:g}/s achieved {cell['achieved_rps']:g}/s,"
            f" late starts {cell['late_starts']} ({cell['late_start_rate']:.1%}){flag}" + _cpu(cell))  # fmt: skip


def _cpu(cell: dict[str, Any]) -> str:
    share = cell.get("generator_cpu_share")
    return "" if share is None else f" | generator CPU {share:.0%} of the machine"

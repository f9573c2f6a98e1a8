"""Mutation check: break one promise at a time in a throwaway copy of the tree and see whether its tests notice.

Not part of the test run (pytest collects only test_*.py). From the worktree, with its venv:

    python tests/mutants.py                  # every mutant, then a table: mutant, caught yes/no
    python tests/mutants.py --list           # names only
    python tests/mutants.py --only NAME ...  # some of them
    python tests/mutants.py --baseline       # first check that the named tests pass on the unbroken copy
    python tests/mutants.py --tests-from main  # the same mutants against an older suite (what it let through)

Each mutant replaces one exact text in one file (it must occur exactly once, else the row says `stale`: the code
moved and the mutant needs updating) and runs only the test files that must catch it. A mutant that the tests
let through is a promise without a test.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 900.0  # seconds per mutant; pytest-timeout (180 s a test) ends a hung test before this


@dataclass(frozen=True)
class Mutant:
    """One behaviour-breaking change and the tests that must fail because of it."""

    name: str
    path: str
    old: str
    new: str
    tests: tuple[str, ...]


MUTANTS: tuple[Mutant, ...] = (
    # README: BALANCER_MAX_CONNECTIONS caps the node connections in total; past the cap requests wait.
    Mutant(
        "pool-cap-ignored",
        "balancer/pool.py",
        "while self._limit and self._open >= self._limit and not self._closed:",
        "while False:",
        ("tests/balancer/test_pool.py",),
    ),
    # README: malformed references are logged by length only.
    Mutant(
        "malformed-reference-logged",
        "nodes/stores/ids.py",
        'log.warning("ignoring a malformed session reference (%d characters)", len(value))',
        'log.warning("ignoring a malformed session reference %r (%d characters)", value, len(value))',
        ("tests/nodes/test_transport.py",),
    ),
    # README: the answer carries the token in the same header (only to a client that sent it); browsers get a cookie.
    Mutant(
        "token-header-to-browsers",
        "nodes/transport.py",
        "        if self.uses_header(request):\n            response.headers[self.header_name] = value\n",
        "        response.headers[self.header_name] = value\n        if self.uses_header(request):\n"
        "            response.headers[self.header_name] = value\n",
        ("tests/nodes/test_transport.py",),
    ),
    # README: SESSION_COOKIE_SECURE=1 adds Secure to the session cookie.
    Mutant(
        "cookie-secure-dropped",
        "nodes/transport.py",
        'samesite="Lax", secure=self.secure or None\n            )',
        'samesite="Lax", secure=None\n            )',
        ("tests/nodes/test_transport.py",),
    ),
    # README (balancer errors): 502 upstream_unreachable when the node refused the connection.
    Mutant(
        "retry-exhausted-answers-503",
        "balancer/exchange.py",
        "self._answer_error(self.failure or NO_HEALTHY)",
        "self._answer_error(NO_HEALTHY)",
        ("tests/balancer/test_proxy_errors.py",),
    ),
    # README (balancer errors): 504 upstream_connect_timeout after BALANCER_CONNECT_TIMEOUT.
    Mutant(
        "connect-timeout-as-unreachable",
        "balancer/pool.py",
        "raise UpstreamError(CONNECT_TIMEOUT, unreachable=True)",
        "raise UpstreamError(UNREACHABLE, unreachable=True)",
        ("tests/balancer/test_proxy_errors.py",),
    ),
    Mutant(
        "connect-timeout-status-502",
        "balancer/errors.py",
        'Failure(504, "upstream_connect_timeout"',
        'Failure(502, "upstream_connect_timeout"',
        ("tests/balancer/test_proxy_errors.py",),
    ),
    # README: BALANCER_ADMIN_TOKEN is compared in constant time.
    Mutant(
        "admin-token-compared-with-eq",
        "balancer/runtime.py",
        "hmac.compare_digest(credentials.strip(), self._token)",
        "credentials.strip() == self._token",
        ("tests/balancer/test_runtime.py",),
    ),
    # The replication endpoint checks its signatures in constant time.
    Mutant(
        "peer-signature-compared-with-eq",
        "nodes/stores/replication/wire.py",
        "if not hmac.compare_digest(given.encode(), _mac(self._secret, stamp, nonce, method, path, body).encode()):",
        "if given.encode() != _mac(self._secret, stamp, nonce, method, path, body).encode():",
        ("tests/nodes/stores/replication/test_authentication.py",),
    ),
    # The three tests that could not fail (issue 30).
    Mutant(
        "page-hint-missing-for-memory-hash",
        "loadtest/lab/page_hints.py",
        '("memory", "hash"): "the session id picks the node',
        '("memory", "hash-renamed"): "the session id picks the node',
        ("tests/loadtest/lab/test_page_hints.py",),
    ),
    Mutant(
        "open-loop-at-half-rate",
        "loadtest/users/schedule.py",
        "        return 1.0 / self.rate\n",
        "        return 2.0 / self.rate\n",
        (
            "tests/loadtest/compare/test_openloop_real.py::test_an_open_loop_cell_keeps_its_rate_and_says_how_many_starts_were_late",
        ),
    ),
    Mutant(
        "cut-off-upload-traceback",
        "nodes/api.py",
        "    except ConnectionResetError:  # the client broke off its upload",
        "    except ConnectionAbortedError:  # the client broke off its upload",
        ("tests/fuzz/test_known_bugs.py",),
    ),
    Mutant(  # the traceback comes 1.5 s late: only the log check at the module's teardown sees it
        "cut-off-upload-late-traceback",
        "nodes/api.py",
        '        raise BadRequest("the request body was cut off") from None',
        '        __import__("time").sleep(1.5)\n        raise RuntimeError("late") from None',
        ("tests/fuzz/test_known_bugs.py",),
    ),
    # The theory's floor (issue 30): a cell expecting misses must disagree with none.
    Mutant(
        "floor-hides-small-losses",
        "loadtest/compare/theory/model.py",
        "        return not too_few(self.misses, self.variance, measured_rate * n, floor * n)\n",
        "        return True\n",
        ("tests/loadtest/compare/test_theory.py",),
    ),
    Mutant(
        "memory-store-shares-sessions",
        "nodes/stores/__init__.py",
        "    MEMORY: MemoryStore.from_settings,",
        "    MEMORY: CookieStore.from_settings,",
        ("tests/loadtest/compare/scenarios/test_membership.py::test_real_run_agrees_with_theory_and_leaves_nothing",),
    ),
    # Tolerances that match their promises (issue 30).
    Mutant(
        "redis-timeout-quadrupled",
        "nodes/stores/redis_client.py",
        "        socket_timeout=timeout,\n        retry=Retry(NoBackoff(), retries=1),\n        retry_on_error",
        "        socket_timeout=timeout * 4,\n        retry=Retry(NoBackoff(), retries=1),\n        retry_on_error",
        ("tests/nodes/stores/test_redis.py",),
    ),
    Mutant(
        "async-copies-held-back",
        "nodes/stores/replication/delivery.py",
        "            await self._wake.wait()\n            self._wake.clear()\n",
        "            await self._wake.wait()\n            self._wake.clear()\n            await asyncio.sleep(0.5)\n",
        ("tests/nodes/stores/replication/test_copies.py",),
    ),
    Mutant(
        "capacity-precision-30-percent",
        "loadtest/compare/fidelity/capacity.py",
        "START_RATE, GROWTH, PRECISION, MAX_STEPS = 100.0, 2.0, 0.1, 9",
        "START_RATE, GROWTH, PRECISION, MAX_STEPS = 100.0, 2.0, 0.3, 9",
        ("tests/loadtest/compare/test_capacity.py",),
    ),
    Mutant(
        "head-too-large-as-400",
        "balancer/errors.py",
        'Failure(431, "request_head_too_large"',
        'Failure(400, "request_head_too_large"',
        ("tests/fuzz/test_known_bugs.py",),
    ),
)


def copy_tree(target: Path) -> None:
    """The tracked and new (not ignored) files of the worktree, as they are now."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, check=True, capture_output=True,
    ).stdout.decode()  # fmt: skip
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)


def run_tests(tree: Path, tests: tuple[str, ...]) -> tuple[bool, str]:
    """Whether the tests pass in `tree`, and pytest's last line."""
    env = {**os.environ, "PYTHONPATH": str(tree), "PYTHONDONTWRITEBYTECODE": "1"}
    command = [sys.executable, "-m", "pytest", "-n", "0", "-x", "-q", "-p", "no:cacheprovider", *tests]
    try:
        done = subprocess.run(command, cwd=tree, env=env, capture_output=True, text=True, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        return False, f"timed out after {TIMEOUT:.0f} s"
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    summary = lines[-1] if lines else done.stderr.strip()[-200:]
    first_error = next((line[1:].strip() for line in lines if line.startswith("E ")), "")
    return done.returncode == 0, f"{summary}; {first_error[:160]}" if first_error else summary


def tests_from(tree: Path, revision: str) -> None:
    """Replace the copy's tests/ by those of a git revision (to see what an older suite let through)."""
    shutil.rmtree(tree / "tests")
    archive = subprocess.run(["git", "archive", revision, "tests"], cwd=ROOT, check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)


def check(mutant: Mutant, revision: str | None = None) -> tuple[str, str]:
    """Apply the mutant to a fresh copy and run its tests: (`yes`, `NO`, `stale` or `n/a`, pytest's summary)."""
    with tempfile.TemporaryDirectory(prefix="mutant-") as folder:
        tree = Path(folder)
        copy_tree(tree)
        if revision is not None:
            tests_from(tree, revision)
            tests = tuple(test for test in mutant.tests if (tree / test.split("::")[0]).exists())
            if not tests:
                return "n/a", f"none of its tests exist at {revision}"
            mutant = Mutant(mutant.name, mutant.path, mutant.old, mutant.new, tests)
        target = tree / mutant.path
        text = target.read_text()
        if text.count(mutant.old) != 1:
            return "stale", f"the old text occurs {text.count(mutant.old)} times in {mutant.path}"
        target.write_text(text.replace(mutant.old, mutant.new))
        passed, summary = run_tests(tree, mutant.tests)
    return ("NO" if passed else "yes"), summary


def baseline(mutants: list[Mutant]) -> tuple[bool, str]:
    """The named tests on an unbroken copy: they must pass, or a `caught` means nothing."""
    tests = tuple(dict.fromkeys(test for mutant in mutants for test in mutant.tests))
    with tempfile.TemporaryDirectory(prefix="mutant-baseline-") as folder:
        copy_tree(Path(folder))
        return run_tests(Path(folder), tests)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Break one promise at a time and see whether the tests notice.")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run only these mutants")
    parser.add_argument("--list", action="store_true", help="print the mutants' names and exit")
    parser.add_argument("--baseline", action="store_true", help="first run the named tests on an unbroken copy")
    parser.add_argument("--tests-from", metavar="REV", help="run the tests/ of this git revision instead")
    args = parser.parse_args(argv)
    names = {mutant.name for mutant in MUTANTS}
    if args.list:
        print("\n".join(sorted(names)))
        return 0
    unknown = sorted(set(args.only or ()) - names)
    if unknown:
        print(f"mutants.py: unknown mutant(s) {', '.join(unknown)}; --list names them", file=sys.stderr)
        return 2
    chosen = [mutant for mutant in MUTANTS if not args.only or mutant.name in args.only]
    if args.baseline:
        passed, summary = baseline(chosen)
        print(f"baseline (unbroken copy): {'pass' if passed else 'FAIL'} ({summary})", flush=True)
        if not passed:
            return 1
    width = max(len(mutant.name) for mutant in chosen)
    print(f"{'mutant':<{width}}  caught  seconds  tests", flush=True)
    missed = 0
    for mutant in chosen:
        started = time.monotonic()
        caught, summary = check(mutant, args.tests_from)
        missed += caught != "yes"
        seconds = time.monotonic() - started
        print(f"{mutant.name:<{width}}  {caught:<6}  {seconds:7.0f}  {' '.join(mutant.tests)}  [{summary}]", flush=True)
    print(f"{len(chosen) - missed} of {len(chosen)} caught")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())

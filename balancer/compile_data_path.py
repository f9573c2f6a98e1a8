"""`sessionlab build-balancer`: compile the balancer's data path with mypyc, once per source, into the build cache.

Why compile: every proxied request runs about 50 Python calls (read, route, rewrite the head, relay the answer);
mypyc turns the same typed source into C, and the balancer spends about 15% less CPU per request (docs/bench.md).
The build is made from a copy of the source in a scratch folder, checked by importing every compiled module, and
only then published under the source's digest, so a half-built or stale build is never picked up.
"""

from __future__ import annotations

import argparse
import importlib.machinery
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from balancer.data_path import (
    BUILD_RECORD,
    COMPILED_MODULES,
    DATA_PATH_ENV,
    EXTENSION,
    INTERPRETED,
    PROJECT_ROOT,
    build_folder,
    cache_root,
    is_complete,
    source_files,
)

PROG = "sessionlab build-balancer"
BUILD_TIMEOUT = 900.0
KEEP_BUILDS = 8  # of other sources (other checkouts, earlier edits): about 1.3 MB each
FAILURE_LOG = "last-failure.log"  # the output of the last build that failed, beside the builds
COMPILER_FAILED = re.compile(r"Command '\['([^']+)'.*returned non-zero exit status")
# What a failed build's output means, and what to install: (text in mypyc's output, the one-line advice).
KNOWN_FAILURES = (
    ("Python.h", "the Python headers are missing (Debian/Ubuntu: apt-get install python3-dev)"),
    ("command 'gcc' failed", "no C compiler (Debian/Ubuntu: apt-get install gcc; macOS: xcode-select --install)"),
    ("command 'cc' failed", "no C compiler (Debian/Ubuntu: apt-get install gcc; macOS: xcode-select --install)"),
    ("No module named 'setuptools'", "setuptools is missing (pip install setuptools)"),
)


class BuildError(Exception):
    """The data path could not be compiled; the message says why in one line."""


@dataclass(frozen=True)
class Built:
    folder: Path
    seconds: float  # 0 when the build already existed
    fresh: bool

    @property
    def summary(self) -> str:
        """`compiled in 15.4 s`, or `already built`: how the build came to be there."""
        return f"compiled in {self.seconds:.1f} s" if self.fresh else "already built"


def build(root: Path = PROJECT_ROOT, *, force: bool = False) -> Built:
    """This source's build, compiled now unless it exists (or `force`); an unusable cache is a BuildError too."""
    try:
        return _build(root, force)
    except (OSError, RuntimeError) as error:  # the cache cannot be written, no home folder to put it in
        raise BuildError(f"cannot use the build cache: {error}") from None


def _build(root: Path, force: bool) -> Built:
    target = build_folder(root)
    if is_complete(target) and not force:
        return Built(target, 0.0, fresh=False)
    for module in ("mypyc", "setuptools"):
        if importlib.util.find_spec(module) is None:
            raise BuildError(f"{module} is not installed (pip install mypy setuptools)")
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="scratch-", dir=target.parent))
    try:
        started = time.monotonic()
        output = _compile(root, work / "src")
        staged = _stage(work / "src", work / "out")
        _check_imports(root, staged)
        seconds = time.monotonic() - started
        _write_record(staged, target.name, seconds, output)
        if target.exists():  # --force, or a half-removed build: moved aside, so the gap is one rename long
            target.rename(work / "replaced")
        try:
            staged.rename(target)
        except OSError:  # another process published the same build first: theirs is as good
            if not is_complete(target):
                raise
        prune(target.parent, keep=KEEP_BUILDS)
        return Built(target, seconds, fresh=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _compile(root: Path, src: Path) -> str:
    """mypyc over a copy of the source (its build folder and .so files land in the copy); returns its output."""
    for relative in source_files(root):
        (src / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / relative, src / relative)
    config = src / "mypy.ini"  # mypy's defaults, whatever configuration the user's folders or home hold
    config.write_text("[mypy]\nignore_missing_imports = True\n")
    modules = (f"balancer/{name}.py" for name in COMPILED_MODULES)
    argv = [sys.executable, "-m", "mypyc", "--config-file", str(config), *modules]
    env = {**os.environ, "MYPY_CACHE_DIR": str(src / ".mypy_cache"), DATA_PATH_ENV: INTERPRETED}
    try:
        done = subprocess.run(argv, cwd=src, env=env, capture_output=True, text=True, timeout=BUILD_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise BuildError(f"mypyc did not finish within {BUILD_TIMEOUT:g} s") from None
    output = done.stdout + done.stderr
    if done.returncode != 0:
        log = cache_root() / FAILURE_LOG
        log.write_text(output)
        raise BuildError(f"mypyc failed (exit {done.returncode}): {failure_reason(output)} (its output: {log})")
    return output


def prune(builds: Path, keep: int) -> list[Path]:
    """Remove all but the `keep` newest builds (each edit of the source makes one); returns what went."""
    found = sorted((path for path in builds.iterdir() if (path / BUILD_RECORD).is_file()),
                   key=lambda path: (path / BUILD_RECORD).stat().st_mtime, reverse=True)  # fmt: skip
    for old in found[keep:]:
        shutil.rmtree(old, ignore_errors=True)
    return found[keep:]


def failure_reason(output: str) -> str:
    """The advice for a known failure, else the last line that says `error`."""
    for needle, advice in KNOWN_FAILURES:
        if needle in output:
            return advice
    compiler = COMPILER_FAILED.search(output)
    if compiler:
        return f"the C compiler ({compiler.group(1)}) failed"
    errors = [line.strip() for line in output.splitlines() if "error" in line.lower()]
    return errors[-1] if errors else (output.strip().splitlines() or ["no output"])[-1]


def _stage(src: Path, out: Path) -> Path:
    """The compiled modules and mypyc's shared library, laid out as `select` puts them on the import path."""
    (out / "balancer").mkdir(parents=True)
    for module in COMPILED_MODULES:
        shutil.move(src / "balancer" / f"{module}{EXTENSION}", out / "balancer" / f"{module}{EXTENSION}")
    for library in src.glob(f"*__mypyc{EXTENSION}"):
        shutil.move(library, out / library.name)
    return out


def _check_imports(root: Path, staged: Path) -> None:
    """Import every compiled module from the staged folder in a fresh interpreter: a build that cannot load
    (another Python's ABI, a missing symbol) fails here, not in the balancer."""
    program = (
        "import importlib, sys\n"
        f"sys.path.insert(0, {str(root)!r}); import balancer\n"
        f"balancer.__path__.insert(0, {str(staged / 'balancer')!r}); sys.path.append({str(staged)!r})\n"
        f"for name in {COMPILED_MODULES!r}:\n"
        "    module = importlib.import_module('balancer.' + name)\n"
        f"    assert module.__file__.endswith({EXTENSION!r}), module.__file__\n"
    )
    env = {**os.environ, DATA_PATH_ENV: INTERPRETED}
    try:
        done = subprocess.run([sys.executable, "-c", program], env=env, capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired:
        raise BuildError("importing the compiled modules did not finish within 120 s") from None
    if done.returncode != 0:
        raise BuildError(f"the compiled modules do not import: {failure_reason(done.stderr)}")


def _write_record(staged: Path, key: str, seconds: float, output: str) -> None:
    mypy_version = importlib.import_module("mypy.version").__version__
    record = {
        "key": key,
        "python": sys.version.split()[0],
        "mypy": mypy_version,
        "modules": [f"balancer.{module}" for module in COMPILED_MODULES],
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "seconds": round(seconds, 1),
    }
    (staged / "build.log").write_text(output)
    (staged / BUILD_RECORD).write_text(json.dumps(record, indent=2) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Compile the balancer's data path with mypyc (about 15 s, once per source). `python -m balancer` "
        f"runs the build that matches its source, else the interpreted source; {DATA_PATH_ENV}=interpreted forces "
        f"the source. Builds live in ~/.cache/sessionlab/balancer-data-path ($SESSIONLAB_CACHE moves them).",
    )
    parser.add_argument("--force", action="store_true", help="compile again even when this source's build exists")
    parser.add_argument("--status", action="store_true", help="say whether this source has a build; build nothing")
    args = parser.parse_args(argv)
    if args.status:
        try:
            folder = build_folder()
            present = is_complete(folder)
        except (OSError, RuntimeError) as error:
            print(f"{PROG}: cannot use the build cache: {error}", file=sys.stderr)
            return 1
        print(f"{PROG}: {'built' if present else 'not built'}: {folder}")
        return 0 if present else 1
    try:
        built = build(force=args.force)
    except BuildError as error:
        print(f"{PROG}: {error}; the balancer runs interpreted", file=sys.stderr)
        return 1
    print(f"{PROG}: {built.summary}: {built.folder}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

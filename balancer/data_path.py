"""Which build of the data path runs: the mypyc-compiled one where a build of this very source exists.

Interpreted, the data path (read, route, forward, relay) costs the balancer about 1.15–1.2 × the CPU per request of
its compiled self (docs/bench.md). A build is found by a digest of the source it was compiled from, so an edited
source never runs stale compiled code: it runs interpreted until `sessionlab build-balancer` builds it again.
Selection happens once, when the `balancer` package is first imported (before any data-path module is).
"""

from __future__ import annotations

import hashlib
import importlib.machinery
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

DATA_PATH_ENV = "BALANCER_DATA_PATH"
AUTO, COMPILED, INTERPRETED = "auto", "compiled", "interpreted"
DATA_PATH_CHOICES = (AUTO, COMPILED, INTERPRETED)
CACHE_ENV = "SESSIONLAB_CACHE"
BUILD_RECORD = "BUILD.json"
# The modules every proxied request runs through; the rest (settings, routing, health, runtime API) stays
# interpreted: compiling it changes no request's cost.
COMPILED_MODULES = (
    "http1", "raw_heads", "cookies", "reader", "upstream_connection", "answer_relay", "exchange", "client", "pool",
)  # fmt: skip
BUILD_HINT = "`sessionlab build-balancer` compiles it"
EXTENSION = importlib.machinery.EXTENSION_SUFFIXES[0]  # a compiled module's file suffix on this interpreter

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class DataPath:
    """What runs (`compiled` or `interpreted`), why, and the build's folder when compiled."""

    kind: str
    reason: str
    build: Path | None = None


def cache_root() -> Path:
    """$SESSIONLAB_CACHE, else $XDG_CACHE_HOME/sessionlab, else ~/.cache/sessionlab; builds live below it."""
    explicit = os.environ.get(CACHE_ENV)
    if explicit:  # absolute: the lab starts balancers in the project's root, whatever the caller's folder
        return Path(explicit).absolute() / "balancer-data-path"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "sessionlab" / "balancer-data-path"


def source_files(root: Path = PROJECT_ROOT) -> list[Path]:
    """Every source a build depends on: the balancer package and the shared names it imports (mypyc may inline
    their constants), relative to `root`, sorted."""
    files = [*root.glob("balancer/**/*.py"), root / "nodes" / "__init__.py", *root.glob("nodes/contract/**/*.py")]
    return sorted(path.relative_to(root) for path in files if path.is_file())


def build_key(root: Path = PROJECT_ROOT) -> str:
    """The folder name of this source's build for this interpreter: its cache tag and a digest of every source."""
    digest = hashlib.sha256()
    digest.update(f"{sys.implementation.cache_tag} {EXTENSION}\0".encode())
    for relative in source_files(root):
        digest.update(f"{relative.as_posix()}\0".encode())
        digest.update((root / relative).read_bytes())
        digest.update(b"\0")
    return f"{sys.implementation.cache_tag}-{digest.hexdigest()[:20]}"


def build_folder(root: Path = PROJECT_ROOT) -> Path:
    return cache_root() / build_key(root)


def is_complete(build: Path) -> bool:
    """The build's record and every compiled module are there (a half-removed build is not used)."""
    modules = (build / "balancer" / f"{name}{EXTENSION}" for name in COMPILED_MODULES)
    return (build / BUILD_RECORD).is_file() and all(module.is_file() for module in modules)


def select(package_path: list[str], environ: Mapping[str, str] = os.environ) -> DataPath:
    """Put this source's compiled build, if any, ahead of the source on the package's import path."""
    wanted = environ.get(DATA_PATH_ENV, AUTO)
    if wanted == INTERPRETED:
        return DataPath(INTERPRETED, f"{DATA_PATH_ENV}={INTERPRETED}")
    try:
        build = build_folder()
        complete = is_complete(build)
    except (OSError, RuntimeError) as error:  # an unreadable source or cache, no home: run what is certainly current
        return DataPath(INTERPRETED, f"cannot look for a build: {error}")
    if not complete:
        return DataPath(INTERPRETED, f"no compiled build of this source; {BUILD_HINT}")
    package_path.insert(0, str(build / "balancer"))  # found before the .py files of the same names
    sys.path.append(str(build))  # mypyc's shared library, a top-level module
    return DataPath(COMPILED, f"mypyc build {build.name}", build)

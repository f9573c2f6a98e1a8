"""Size limits of the code base: no module over 400 lines, no class over 250, median function <= 10 lines.

The tests hold nodes/, balancer/ and loadtest/ to them; run as a script (`python tests/test_sizes.py`) to print
the figures.
"""

from __future__ import annotations

import ast
import statistics
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("nodes", "balancer", "loadtest")
MAX_MODULE, MAX_CLASS, MAX_MEDIAN_FUNCTION = 400, 250, 10


def sources(packages: tuple[str, ...] = PACKAGES) -> list[Path]:
    return sorted(path for package in packages for path in (ROOT / package).rglob("*.py"))


def span(node: ast.AST) -> int:
    return int(getattr(node, "end_lineno", 0)) - int(getattr(node, "lineno", 0)) + 1


def measure(packages: tuple[str, ...] = PACKAGES) -> tuple[dict[str, int], dict[str, int], list[int]]:
    """Lines per module, lines per class, lines per function (methods included)."""
    modules, classes, functions = {}, {}, []
    for path in sources(packages):
        text = path.read_text()
        name = str(path.relative_to(ROOT))
        modules[name] = len(text.splitlines())
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.ClassDef):
                classes[f"{name}:{node.name}"] = span(node)
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                functions.append(span(node))
    return modules, classes, functions


def test_no_module_over_400_lines() -> None:
    modules, _, _ = measure()
    assert {name: n for name, n in modules.items() if n > MAX_MODULE} == {}


def test_no_class_over_250_lines() -> None:
    _, classes, _ = measure()
    assert {name: n for name, n in classes.items() if n > MAX_CLASS} == {}


def test_median_function_is_short() -> None:
    _, _, functions = measure()
    assert statistics.median(functions) <= MAX_MEDIAN_FUNCTION


def show(packages: tuple[str, ...]) -> None:
    modules, classes, functions = measure(packages)
    print(f"{'/'.join(packages)}:")
    print(f"{len(modules)} modules: largest {max(modules.values())} lines ({max(modules, key=modules.__getitem__)})")
    print(f"{len(classes)} classes: largest {max(classes.values())} lines ({max(classes, key=classes.__getitem__)})")
    print(f"{len(functions)} functions: median {statistics.median(functions)} lines, "
          f"mean {statistics.mean(functions):.1f}, longest {max(functions)}")  # fmt: skip
    over = {name: n for name, n in modules.items() if n > MAX_MODULE}
    print(f"modules over {MAX_MODULE}: {over or 'none'}")


if __name__ == "__main__":
    show(("loadtest",))
    show(PACKAGES)

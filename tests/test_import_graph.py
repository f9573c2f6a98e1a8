"""No import cycle anywhere in nodes/, balancer/ or loadtest/: dependencies point one way.

The graph is read from the source, so it counts what a reader sees: imports at the top, inside functions
(deferred) and under `if TYPE_CHECKING:` alike. A cycle broken only by deferring an import is still a cycle.
`from pkg import name` is an edge to the module `pkg.name` when that is a module, else to `pkg` itself.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("nodes", "balancer", "loadtest")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(path): path for package in PACKAGES for path in (ROOT / package).rglob("*.py")}


def imports(path: Path, name: str, known: set[str]) -> set[str]:
    """The project modules that `path` imports, anywhere in its source."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name in known}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                target = f"{base}.{alias.name}"
                found.add(target if target in known else base)
    return {module for module in found if module in known and module != name}


def graph() -> dict[str, set[str]]:
    found = modules()
    return {name: imports(path, name, set(found)) for name, path in found.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected component of more than one module (Tarjan), each as a sorted list."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(edges.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_the_graph_finds_a_cycle_when_there_is_one() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_the_graph_sees_deferred_and_type_checking_imports() -> None:
    edges = graph()
    assert "loadtest.compare.scenarios" in edges["loadtest.compare.record.cells"]
    assert edges["nodes.contract.names"] == set() or "nodes" not in edges["nodes.contract.names"]


def test_no_import_cycle_between_modules() -> None:
    assert cycles(graph()) == []


# Lower layers never import upper ones: the services know nothing of the lab; the lab's building blocks nothing
# of its commands; inside compare, the cell spec and the theory nothing of running, recording or reporting.
NEVER_IMPORTS = {
    "nodes": ("balancer", "loadtest"),
    "balancer": ("loadtest",),
    "loadtest.users": ("loadtest.lab", "loadtest.compare", "loadtest.bench", "loadtest.render"),
    "loadtest.render": ("loadtest.lab", "loadtest.compare", "loadtest.bench", "loadtest.users"),
    "loadtest.lab": ("loadtest.compare", "loadtest.bench", "loadtest.probe"),
    "loadtest.compare": ("loadtest.probe",),
    "loadtest.bench": ("loadtest.probe", "loadtest.compare"),
    "loadtest.compare.spec": ("loadtest.compare.",),
    "loadtest.compare.theory": (
        "loadtest.compare.run",
        "loadtest.compare.record",
        "loadtest.compare.scenarios",
        "loadtest.compare.report",
        "loadtest.compare.fidelity",
    ),  # fmt: skip
    "loadtest.compare.scenarios": ("loadtest.compare.run", "loadtest.compare.record", "loadtest.compare.report"),
}


def test_imports_point_down_the_layers() -> None:
    upward = [
        f"{module} imports {target}"
        for module, targets in graph().items()
        for lower, uppers in NEVER_IMPORTS.items()
        if module == lower or module.startswith(lower + ".")
        for target in targets
        if any(target == upper or target.startswith(upper if upper.endswith(".") else upper + ".") for upper in uppers)
    ]
    assert upward == []

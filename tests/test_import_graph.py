"""connect_batch's modules import each other top-down only: no import cycle."""

from __future__ import annotations

import ast
import pathlib

import connect_batch

ROOT = pathlib.Path(connect_batch.__file__).parent


def module_name(path: pathlib.Path) -> str:
    parts = ["connect_batch", *path.relative_to(ROOT).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """Each module's imports of other connect_batch modules, run at import time (imports
    under ``if TYPE_CHECKING:`` and inside functions are not: they cannot make a cycle)."""
    modules = {module_name(p): p for p in ROOT.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        found: set[str] = set()
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            for imported in targets:
                target = imported
                # Importing a submodule runs its packages' __init__ first; a module's own
                # packages are being imported already, so they add no edge.
                while target in modules:
                    if target != name and not name.startswith(target + "."):
                        found.add(target)
                    target = target.rpartition(".")[0]
        graph[name] = found
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_no_import_cycle() -> None:
    assert find_cycle(import_graph()) is None


def test_the_graph_sees_imports() -> None:
    graph = import_graph()
    assert "connect_batch.operations.base" in graph["connect_batch.operations.contacts"]
    assert "connect_batch.testing._faults" in graph["connect_batch.testing._fake"]


def test_a_cycle_is_found() -> None:
    assert find_cycle({"a": {"b"}, "b": {"a"}}) == ["a", "b", "a"]

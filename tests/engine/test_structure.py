"""The engine's shape, as issue 15 set it: no import cycle among its modules, no class
over 300 lines or 20 methods (ruff's C901 limit of 12 is in pyproject.toml)."""

from __future__ import annotations

import ast
from pathlib import Path

import tickbridge.engine

ENGINE = Path(tickbridge.engine.__file__).parent
MAX_CLASS_LINES = 300
MAX_METHODS = 20


def _modules() -> dict[str, ast.Module]:
    return {f"tickbridge.engine.{p.stem}": ast.parse(p.read_text(), str(p))
            for p in sorted(ENGINE.glob("*.py")) if p.stem != "__init__"}


def _imports(tree: ast.Module) -> set[str]:
    """Every engine module imported anywhere in the file (TYPE_CHECKING blocks and
    function bodies included: a cycle there is a cycle in the design)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module == "tickbridge.engine":
                found |= {f"tickbridge.engine.{a.name}" for a in node.names}
            elif node.module.startswith("tickbridge.engine."):
                found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("tickbridge.engine.")}
    return found


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of ``graph`` (module -> modules it imports), or None."""
    state: dict[str, int] = {}  # 1: on the path, 2: done

    def visit(name: str, path: list[str]) -> list[str] | None:
        state[name] = 1
        for dep in sorted(graph[name]):
            if state.get(dep) == 1:
                return [*path, name, dep]
            if dep not in state and (found := visit(dep, [*path, name])):
                return found
        state[name] = 2
        return None

    for name in graph:
        if name not in state and (found := visit(name, [])):
            return found
    return None


def test_no_import_cycle_among_the_engine_modules() -> None:
    modules = _modules()
    graph = {name: _imports(tree) & modules.keys() for name, tree in modules.items()}
    assert _cycle(graph) is None, "import cycle: " + " -> ".join(_cycle(graph) or [])


def test_no_engine_class_is_too_big() -> None:
    too_big = []
    for name, tree in _modules().items():
        for node in ast.walk(tree):
            if not isinstance(node, ast.ClassDef):
                continue
            lines = node.end_lineno - node.lineno + 1
            methods = sum(isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
                          for n in node.body)
            if lines > MAX_CLASS_LINES or methods > MAX_METHODS:
                too_big.append(f"{name}.{node.name}: {lines} lines, {methods} methods")
    assert not too_big, too_big


def test_the_check_sees_a_cycle() -> None:
    """It can fail: an import only under TYPE_CHECKING closes a cycle too."""
    a = ast.parse("from tickbridge.engine.b import x")
    b = ast.parse("if TYPE_CHECKING:\n    from tickbridge.engine.a import y")
    graph = {"tickbridge.engine.a": _imports(a), "tickbridge.engine.b": _imports(b)}
    assert _cycle(graph) == ["tickbridge.engine.a", "tickbridge.engine.b",
                             "tickbridge.engine.a"]
    assert _cycle({"x": {"y"}, "y": set()}) is None

"""The package's shape, checked on its source: no import cycle, and no import from a lower layer to a higher
one — imports inside functions count too (a cycle hidden in a function is still a cycle).

Layers, lowest first (ARCHITECTURE.md, README "Layout"): the domain (vocabulary, modes, the talent's and
the demand's declarations, workflow, privacy, configuration, reference data, validation, column specs,
views), then the engine and storage (each knows only the domain), then the services, then the offline
tools, the demo and the command line, then the web API and console."""

from __future__ import annotations

import ast
from pathlib import Path

from matcher.config import PROJECT_ROOT

LAYERS: tuple[tuple[str, ...], ...] = (
    ("matcher.config", "matcher.errors", "matcher.validation", "matcher.reference", "matcher.domain",
     "matcher.tabular", "matcher.views"),
    ("matcher.engine", "matcher.storage", "matcher.documents"),
    ("matcher.services",),
    ("matcher.demo", "matcher.tools"),
    ("matcher.cli",),
    ("api",),
)


def _modules() -> dict[str, Path]:
    out = {}
    for base in ("matcher", "api"):
        for path in (PROJECT_ROOT / base).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            parts = path.relative_to(PROJECT_ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            out[name] = path
    return out


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        typing_only = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If)
                       and "TYPE_CHECKING" in ast.unparse(node.test) for n in ast.walk(node)}
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(tree):
            if id(node) in typing_only:
                continue
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*parts, base] if base else parts)
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
            for t in targets:
                found = _resolve(t, modules)
                if found and found != name:
                    graph[name].add(found)
    return graph


def _layer(module: str) -> int:
    for i, prefixes in enumerate(LAYERS):
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return i
    raise AssertionError(f"{module} is in no layer: add it to LAYERS")


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in graph:
        if v not in index:
            visit(v)
    return found


def test_no_import_cycle() -> None:
    assert _cycles(_graph()) == []


def test_no_import_from_a_lower_layer_to_a_higher_one() -> None:
    upward = sorted(f"{a} → {b}" for a, targets in _graph().items() for b in targets if _layer(b) > _layer(a))
    assert upward == []


def test_the_checks_see_a_cycle_and_an_upward_import() -> None:
    """The two checks above could not fail if the graph missed imports: a planted cycle and a planted
    upward edge are found."""
    graph = _graph()
    graph["matcher.engine.metrics"] = {*graph["matcher.engine.metrics"], "matcher.engine.ltr"}
    assert any("matcher.engine.metrics" in c for c in _cycles(graph))
    assert _layer("matcher.services.runtime") > _layer("matcher.engine.pool")
    # a function-level import is seen: the CLI imports the tools inside its commands
    assert "matcher.tools.evaluation" in graph["matcher.cli"]

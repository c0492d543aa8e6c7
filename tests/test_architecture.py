"""The layering written down in docs/architecture.md, checked on the source.

A layer imports only the layers below it; there is no import cycle between modules; no module
grows past 500 lines; nothing changes global state on import (no ``matplotlib.use``, no pyplot).
"""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx
import pytest

ROOT = Path(__file__).resolve().parents[1] / "gridai"

#: What each top-level part of the package may import (besides itself). The order of
#: docs/architecture.md: cli -> pipelines -> dispatch / restoration -> grid / optim /
#: forecast / tracking -> data / features -> config / exceptions / outputs.
BASE = {"gridai.exceptions", "gridai.config", "gridai.outputs"}
ALLOWED: dict[str, set[str]] = {
    "gridai.exceptions": set(),
    "gridai.config": {"gridai.exceptions"},
    "gridai.outputs": {"gridai.exceptions"},
    "gridai.testing": BASE | {"gridai.data"},
    "gridai.data": BASE,
    "gridai.features": BASE | {"gridai.data"},
    "gridai.forecast": BASE | {"gridai.data", "gridai.features"},
    "gridai.tracking": BASE | {"gridai.data", "gridai.features", "gridai.forecast"},
    "gridai.optim": BASE,
    "gridai.grid": BASE | {"gridai.optim", "gridai.forecast"},  # forecast: the quantile pick only
    "gridai.dispatch": BASE | {"gridai.optim", "gridai.grid", "gridai.forecast"},
    "gridai.restoration": BASE | {"gridai.optim", "gridai.grid", "gridai.forecast"},
    "gridai.pipelines": BASE
    | {
        "gridai.data",
        "gridai.features",
        "gridai.forecast",
        "gridai.tracking",
        "gridai.optim",
        "gridai.grid",
        "gridai.dispatch",
        "gridai.restoration",
    },
}
#: The version string only.
PACKAGE_ROOT_OK = {"gridai"}
MAX_LINES = 500


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def _part(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:2]) if len(parts) > 1 else module


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


class _ImportCollector(ast.NodeVisitor):
    def __init__(self, module_level_only: bool) -> None:
        self.module_level_only = module_level_only
        self.found: set[str] = set()

    def visit_If(self, node: ast.If) -> None:  # noqa: N802 (ast.NodeVisitor's naming)
        if _is_type_checking(node):
            for stmt in node.orelse:
                self.visit(stmt)
            return
        self.generic_visit(node)

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:  # noqa: N802
        if not self.module_level_only:
            self.generic_visit(node)

    visit_AsyncFunctionDef = visit_FunctionDef  # type: ignore[assignment]

    def visit_Import(self, node: ast.Import) -> None:  # noqa: N802
        self.found.update(a.name for a in node.names if a.name.startswith("gridai"))

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:  # noqa: N802
        if node.module and node.module.startswith("gridai"):
            self.found.add(node.module)
            self.found.update(f"{node.module}.{a.name}" for a in node.names)


def _imports(path: Path, *, module_level_only: bool) -> set[str]:
    """Every ``gridai...`` module the file imports (``TYPE_CHECKING`` blocks excluded)."""
    collector = _ImportCollector(module_level_only)
    collector.visit(ast.parse(path.read_text(encoding="utf-8")))
    return collector.found


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def test_layers_import_only_what_lies_below() -> None:
    modules = _modules()
    bad: list[str] = []
    for mod, path in modules.items():
        part = _part(mod)
        if part == "gridai.cli" or mod == "gridai":
            continue
        allowed = ALLOWED.get(part)
        assert allowed is not None, f"{mod}: top-level part {part} missing from the layer table"
        for imp in _imports(path, module_level_only=False):
            target = _resolve(imp, modules)
            if target is None or target in PACKAGE_ROOT_OK:
                continue
            tpart = _part(target)
            if tpart != part and tpart not in allowed:
                bad.append(f"{mod} imports {target}")
    assert not bad, "layer violations:\n" + "\n".join(sorted(set(bad)))


def test_no_import_cycle_between_modules() -> None:
    modules = _modules()
    g = nx.DiGraph()
    for mod, path in modules.items():
        g.add_node(mod)
        for imp in _imports(path, module_level_only=True):
            target = _resolve(imp, modules)
            # a package's __init__ is run before its submodules: importing the package itself
            # from a submodule is not a cycle of code, only of names.
            if target and target != mod and not mod.startswith(target + "."):
                g.add_edge(mod, target)
    cycles = [sorted(c) for c in nx.strongly_connected_components(g) if len(c) > 1]
    assert not cycles, f"import cycles: {cycles}"


@pytest.mark.parametrize("path", sorted(ROOT.rglob("*.py")), ids=lambda p: str(p.relative_to(ROOT)))
def test_module_size_and_no_import_side_effects(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    n = text.count("\n")
    assert n <= MAX_LINES, f"{path.relative_to(ROOT)} has {n} lines (limit {MAX_LINES}): split it by concept"
    tree = ast.parse(text)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value
            if node.func.attr == "use" and isinstance(owner, ast.Name) and owner.id == "matplotlib":
                pytest.fail(f"{path.relative_to(ROOT)}: matplotlib.use() changes global state")
    for node in tree.body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = [a.name for a in node.names] + (
                [node.module] if isinstance(node, ast.ImportFrom) and node.module else []
            )
            assert not any(n and n.startswith("matplotlib.pyplot") for n in names), (
                f"{path.relative_to(ROOT)}: pyplot at module level (use matplotlib.figure.Figure)"
            )

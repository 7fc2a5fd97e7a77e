"""The house's one-way data flow (DESIGN.md), checked on every import statement,
including those only made for type checking: the mechanism never imports the ways
in or the providers, and nothing imports in a circle."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("agent", "tools", "prompts")


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every project module a file imports, resolved to absolute names."""
    here = _module_name(path)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            found.add(base)
            found |= {f"{base}.{a.name}" for a in node.names}
    return {m for m in found if m.split(".")[0] in PACKAGES}


def _graph() -> dict[str, set[str]]:
    files = [p for d in PACKAGES for p in (ROOT / d).rglob("*.py")]
    modules = {_module_name(p): p for p in files}
    return {name: {m for m in _imports(p) if m in modules and m != name} for name, p in modules.items()}


GRAPH = _graph()


def test_the_graph_sees_the_project() -> None:
    assert "agent.session.control" in GRAPH and "agent.session.away" in GRAPH["agent.session.control"]


@pytest.mark.parametrize(
    ("importer", "forbidden"),
    [
        ("agent.session", ("agent.providers", "agent.offline", "agent.chat", "agent.worker", "agent.prompts_cli", "agent.__main__")),
        ("agent.offline", ("agent.providers", "agent.chat", "agent.worker", "agent.session.control")),
        ("tools", ("agent",)),
        ("prompts", ("agent", "tools")),
    ],
)
def test_data_flows_one_way(importer: str, forbidden: tuple[str, ...]) -> None:
    wrong = sorted(
        f"{src} imports {dst}"
        for src, dsts in GRAPH.items()
        if src == importer or src.startswith(importer + ".")
        for dst in dsts
        if any(dst == f or dst.startswith(f + ".") for f in forbidden)
    )
    assert wrong == []


def test_no_import_circles() -> None:
    # package __init__ files are left out: a package importing its own modules is not a circle
    graph = {m: {d for d in ds if not ROOT.joinpath(*d.split("."), "__init__.py").exists()} for m, ds in GRAPH.items()}
    circles: list[list[str]] = []

    def visit(node: str, path: list[str]) -> None:
        for nxt in graph.get(node, ()):
            if nxt in path:
                circles.append(path[path.index(nxt) :] + [nxt])
            elif len(path) < 30:
                visit(nxt, [*path, nxt])

    for start in graph:
        visit(start, [start])
    assert circles == []

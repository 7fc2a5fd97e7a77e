"""The house's one-way data flow (DESIGN.md), checked on every import statement,
including those only made for type checking: the mechanism never imports the ways
in or the providers, and nothing imports in a circle. The mechanism names no
provider, and each provider's plugin is imported only in that provider's module."""

from __future__ import annotations

import ast
import io
import re
import tokenize
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


# The providers' names and their makers' and models' ones. "pipeline" and "offline" are
# also plain words: they count as a name only as a whole word ("offline_reply", a persona
# file's block, is not one); the others count wherever they stand ("openai_server_event").
PLAIN_WORDS = ("pipeline", "offline")
BRANDS = ("openai", "google", "gemini", "ultravox", "aws", "nova")
NAMED = re.compile(
    rf"\b(?:{'|'.join(PLAIN_WORDS)})\b|(?<![a-z])(?:{'|'.join(BRANDS)})(?![a-z])", re.IGNORECASE
)


def provider_names(source: str) -> list[str]:
    """Where ``source`` names a provider: in an identifier, a string (docstrings too) or a comment."""
    found = []
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type in (tokenize.NAME, tokenize.STRING, tokenize.COMMENT) or token.type == getattr(tokenize, "FSTRING_MIDDLE", -1):
            found += [f"{token.start[0]}: {m.group(0)!r} in {token.string.strip()[:60]!r}" for m in NAMED.finditer(token.string)]
    return found


def test_the_name_check_sees_a_provider() -> None:
    planted = 'session.on("openai_server_event_received", x)  # OpenAI only\nif provider.name == "offline": pass\n'
    assert len(provider_names(planted)) == 3
    assert provider_names('render_block(pid, "offline_reply")\ndef offline_line(self): """The line said."""\n') == []


def test_the_mechanism_names_no_provider() -> None:
    """agent/session/ asks the provider (ModelSource) what it needs; what differs per
    provider lives in agent/providers/<provider>.py."""
    named = {
        str(path.relative_to(ROOT)): found
        for path in sorted((ROOT / "agent" / "session").rglob("*.py"))
        if (found := provider_names(path.read_text(encoding="utf-8")))
    }
    assert named == {}


def _external_imports(path: Path) -> set[str]:
    """Every absolute module a file imports, ``from a import b`` also as ``a.b``."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            found |= {node.module, *(f"{node.module}.{a.name}" for a in node.names)}
    return found


# a plugin's home: livekit.plugins.<p> belongs to agent.providers.<p>; other SDKs as listed
SDK_HOMES = {"google.genai": "google", "livekit.agents.inference.realtime": "inference"}


def plugin_home(module: str) -> str | None:
    """The provider module that alone may import ``module``, or None for any other module."""
    parts = module.split(".")
    if parts[:2] == ["livekit", "plugins"] and len(parts) > 2:
        return f"agent.providers.{parts[2]}"
    home = next((h for sdk, h in SDK_HOMES.items() if module == sdk or module.startswith(sdk + ".")), None)
    return f"agent.providers.{home}" if home else None


def test_each_plugin_is_imported_only_in_its_provider_module() -> None:
    wrong = sorted(
        f"{_module_name(path)} imports {module}"
        for path in (ROOT / "agent").rglob("*.py")
        for module in _external_imports(path)
        if (home := plugin_home(module)) is not None and _module_name(path) != home
    )
    assert wrong == []
    homes = {plugin_home(m) for path in (ROOT / "agent").rglob("*.py") for m in _external_imports(path)} - {None}
    assert homes == {
        "agent.providers.openai", "agent.providers.google", "agent.providers.ultravox", "agent.providers.aws", "agent.providers.inference",
    }  # fmt: skip


def test_examples_use_only_the_public_api() -> None:
    """A developer's own agent (examples/) needs nothing of this project but ``agent``'s
    ``__all__``: no reaching into agent.session or the providers."""
    import agent

    wrong = []
    for path in (ROOT / "examples").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in PACKAGES:
                if node.module != "agent" or any(a.name not in agent.__all__ for a in node.names):
                    wrong.append(f"{path.name}: from {node.module} import {', '.join(a.name for a in node.names)}")
            elif isinstance(node, ast.Import) and any(a.name.split(".")[0] in PACKAGES for a in node.names):
                wrong.append(f"{path.name}: import {', '.join(a.name for a in node.names)}")
    assert list((ROOT / "examples").glob("*.py")) and wrong == []


def test_the_public_api_resolves_every_name() -> None:
    import agent

    assert all(getattr(agent, name) is not None for name in agent.__all__)

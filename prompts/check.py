"""``prompts check``: every fault an author can fix, with its file and line.

Each template is rendered for each persona with sample values, so a branch
that only some callers reach (no user name, a switch, a forgotten conversation)
is exercised before a live session meets it.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from jinja2 import meta, nodes

from .examples import parse_examples
from .library import DEFAULT_PERSONA, SUFFIX, PromptLibrary, as_prompt_error, inside, template_name
from .persona import (
    LINE_SAMPLES,
    STANDARD_VARIABLES,
    Persona,
    PromptError,
    field_line,
    parse_persona,
    split_front_matter,
    variants,
)

OFFLINE_BLOCK = "offline_reply"


@dataclass(frozen=True)
class Problem:
    file: str
    line: int | None
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.reason}" if self.line else f"{self.file}: {self.reason}"


def _spoken(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9']+", text.lower()))


@contextmanager
def _quiet() -> Iterator[None]:
    # check reports each fault itself; the live-reload warnings would repeat them
    log = logging.getLogger("prompts")
    before, log.disabled = log.disabled, True
    try:
        yield
    finally:
        log.disabled = before


def check(directory: str | os.PathLike[str] | None = None) -> list[Problem]:
    """Every problem in the folder (``directory``, else $PROMPTS_DIR, else the shipped one)."""
    with _quiet():
        try:
            library = PromptLibrary(directory)
        except PromptError as e:
            return [Problem(e.file or str(directory), None, e.reason)]
        problems: list[Problem] = []
        _check(library, problems)
    return list(dict.fromkeys(problems))  # one report per fault, in order


def _check(library: PromptLibrary, problems: list[Problem]) -> None:
    root = library.root

    def report(e: PromptError, path: Path) -> None:
        problems.append(Problem(e.file or str(path), e.line, e.reason))

    names = []
    for path in sorted(root.rglob("*" + SUFFIX)):
        relative = path.relative_to(root).as_posix()
        try:
            inside(root, template_name(relative))
        except PromptError as e:
            report(e, path)
            continue
        names.append(relative)

    persona_files = {name: name[len("personas/") : -len(SUFFIX)] for name in names if re.fullmatch(r"personas/[^/]+", name)}
    personas: dict[str, Persona] = {}
    for name, pid in persona_files.items():
        try:
            personas[pid] = parse_persona(pid, root / name)
        except PromptError as e:
            report(e, root / name)
    if not (root / "personas" / (DEFAULT_PERSONA + SUFFIX)).is_file():
        problems.append(Problem(str(root / "personas"), None, f"the default persona {DEFAULT_PERSONA!r} is missing"))
    _check_aliases(root, personas, problems)

    everyone_defaults = {key for p in personas.values() for key in p.defaults}
    known = set(STANDARD_VARIABLES) | set(LINE_SAMPLES) | set(library.env.globals)
    for name in names:
        path = root / name
        pid = persona_files.get(name)
        if pid is not None and pid not in personas:
            continue  # its front matter is already reported
        try:
            source = path.read_text(encoding="utf-8")
            ast = library.env.parse(split_front_matter(source)[1] if pid else source, name, str(path))
        except Exception as e:  # syntax errors
            report(as_prompt_error(e), path)
            continue
        # variables used in any branch, even one no sample reaches
        allowed = known | (set(personas[pid].defaults) if pid else everyone_defaults)
        for var in sorted(meta.find_undeclared_variables(ast) - allowed):
            line = next((n.lineno for n in ast.find_all(nodes.Name) if n.name == var), None)
            problems.append(Problem(str(path), line, f"undefined variable {var!r}"))
        # rendering loads the file, which tries it with sample values first; then every variant
        for persona in [personas[pid]] if pid else personas.values():
            for values in variants(persona, personas):
                try:
                    if pid:
                        library.render_persona(pid, **values)
                        library.render_block(pid, OFFLINE_BLOCK, **values)
                    else:
                        library.render(name, **values)
                except PromptError as e:
                    report(e, path)

    for path in sorted(root.rglob("*.yaml")):
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError) as e:
            mark = getattr(e, "problem_mark", None)
            problems.append(Problem(str(path), mark.line + 1 if mark else None, f"not valid YAML: {getattr(e, 'problem', e)}"))
            continue
        text = path.read_text(encoding="utf-8")
        if path.name == "triggers.yaml":
            faults = list(_phrase_list_faults(data))
        elif path.parent == root / "intents":
            faults = parse_examples(data, personas)[1]
        else:
            continue
        for key, reason in faults:
            leaf = re.escape(key.rsplit(".", 1)[-1])
            line = next((i for i, ln in enumerate(text.splitlines(), 1) if re.match(rf"\s*['\"]?{leaf}['\"]?\s*:", ln)), None)
            problems.append(Problem(str(path), line, f"{key}: {reason}"))


def _phrase_list_faults(data: Any, key: str = "triggers") -> Iterator[tuple[str, str]]:
    """triggers.yaml is sections of phrase lists: every leaf a list of short texts."""
    if key == "heard_as":  # what speech-to-text writes -> what was said
        if not isinstance(data, dict) or not all(isinstance(v, str) and v.strip() for kv in data.items() for v in kv):
            yield key, "expected a mapping of texts (heard: meant)"
    elif isinstance(data, dict):
        for name, value in data.items():
            yield from _phrase_list_faults(value, f"{key}.{name}" if key != "triggers" else str(name))
    elif not isinstance(data, list) or not all(isinstance(p, str) and p.strip() for p in data):
        yield key, "expected a list of phrases (texts)"


def _check_aliases(root: Path, personas: dict[str, Persona], problems: list[Problem]) -> None:
    """A word a user says must lead to one persona: ids, names and aliases stay distinct."""
    owner: dict[str, str] = {}
    for p in personas.values():
        owner[_spoken(p.id)] = p.id
    for p in personas.values():
        path = root / "personas" / (p.id + SUFFIX)
        text = path.read_text(encoding="utf-8")
        for key, words in [("name", [p.name]), ("aliases", list(p.aliases))]:
            for word in words:
                taken = owner.setdefault(_spoken(word), p.id)
                if taken != p.id:
                    reason = f"{'alias' if key == 'aliases' else 'name'} {word!r} already leads to persona {taken!r}"
                    problems.append(Problem(str(path), field_line(text, key, word), reason))

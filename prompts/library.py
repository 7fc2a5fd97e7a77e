"""Loads and renders the prompt templates in one folder, and keeps the last good
version of each serving while an edit is broken.

Templates run in a budgeted sandbox (sandbox.py) with strict undefined variables;
user values only ever arrive as variables, never as template source. A file is re-read
when it changes on disk, and its new version serves only once it compiles and renders,
every block included, with each persona's defaults and sample values, within the
budget. Until then (a typo, a misspelled variable, an empty or half-written file, a
deleted file, a template that would render for minutes) the last good version keeps
serving and the problem is logged once, with its file and line.
"""

from __future__ import annotations

import logging
import os
import re
import time
import traceback
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml
from jinja2 import BaseLoader, StrictUndefined, TemplateError, TemplateNotFound, TemplateSyntaxError, UndefinedError, nodes
from jinja2.sandbox import SecurityError

from .examples import EXAMPLES, Example, parse_examples
from .persona import (
    DEFAULT_CAPABILITIES,
    LINE_SAMPLES,
    PERSONA_ID,
    STANDARD_VARIABLES,
    Persona,
    PromptError,
    field_line,
    parse_persona,
    sample_variables,
    split_front_matter,
    standard_variables,
    variants,
)
from .sandbox import Budget, BudgetedSandbox, BudgetExceeded, collect, metered, unmetered

__all__ = [
    "APOLOGY", "DEFAULT_CAPABILITIES", "DEFAULT_PERSONA", "LINE_SAMPLES", "PACKAGE_DIR", "STANDARD_VARIABLES", "SUFFIX",
    "Budget", "Persona", "PromptError", "PromptLibrary", "as_prompt_error", "field_line", "inside", "parse_persona",
    "sample_variables", "split_front_matter", "standard_variables", "template_name", "variants",
]  # fmt: skip


logger = logging.getLogger("prompts")

PACKAGE_DIR = Path(__file__).resolve().parent
SUFFIX = ".md.j2"
DEFAULT_PERSONA = "assistant"
# letters, digits, "_" and "-" per segment: no "..", no absolute paths, no backslashes
_NAME = re.compile(r"[A-Za-z0-9_-]+(?:/[A-Za-z0-9_-]+)*")
_PERSONA_ID = PERSONA_ID
RESCAN_SECONDS = 0.25
# said when even lines/sorry cannot be rendered: a line that always renders
APOLOGY = "Sorry, I lost my words for a moment. Could you say that again?"


def template_name(name: str) -> str:
    """``lines/forget`` or ``lines/forget.md.j2`` -> ``lines/forget.md.j2``; refuses anything else."""
    stem = name[: -len(SUFFIX)] if isinstance(name, str) and name.endswith(SUFFIX) else name
    if not isinstance(stem, str) or not _NAME.fullmatch(stem):
        raise PromptError(f"template name {name!r} is not allowed: use letters, digits, '_' and '-' in '/'-separated parts")
    return stem + SUFFIX


def inside(root: Path, relative: str) -> Path:
    """The file for a checked name; refuses a symlink that leads out of the folder, and a
    file with other hard links (one of them may be outside: a hard link cannot be told
    from the original)."""
    path = (root / relative).resolve()
    if not path.is_relative_to(root):
        raise PromptError(f"{relative!r} leads outside the prompts folder")
    try:
        links = path.stat().st_nlink
    except OSError:
        return path
    if links > 1 and path.is_file():
        raise PromptError(f"{relative!r} has {links - 1} other hard link(s), which may lead outside the prompts folder; copy it instead", path)
    return path


def _stamp(path: Path) -> tuple[int, int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size, st.st_ino


class _Loader(BaseLoader):
    """Names resolve only inside the folder; a new version of a file serves once
    ``accept`` renders it, else the last good version does."""

    def __init__(self, root: Path, accept: Callable[[str, Any, bool], None], max_bytes: int) -> None:
        self.root = root
        self._accept = accept
        self._max_bytes = max_bytes
        self._good: dict[str, Any] = {}  # name -> the last code that compiled and rendered
        self._trying: dict[str, Any] = {}  # name -> the version being tried (it may include itself)

    def load(self, environment: Any, name: str, globals: Any = None) -> Any:
        name = template_name(name)
        if name in self._trying:  # it includes itself: the version being tried, never kept
            return self._trying[name]
        path = self.root / name
        stamp = _stamp(path)
        if stamp is None and name not in self._good:
            raise TemplateNotFound(name)
        try:
            with unmetered():
                code = self._new_version(environment, name, path, stamp, globals)
        except PromptError as e:
            if name not in self._good:
                raise
            code = self._good[name]
            logger.warning("%s:%s: %s (serving the last good version)", e.file or path, e.line or 1, e.reason)
        # Jinja re-checks this on each get_template: a changed file is loaded again,
        # and a rejected version is not tried again (nor logged again) until the next change
        return environment.template_class.from_code(environment, code, globals or {}, lambda: _stamp(path) == stamp)

    def _new_version(self, environment: Any, name: str, path: Path, stamp: Any, globals: Any) -> Any:
        if stamp is None:
            raise PromptError("the file was deleted", path)
        inside(self.root, name)  # checked again whenever the file changes
        if stamp[1] > self._max_bytes:
            raise PromptError(f"the file is over {self._max_bytes} bytes", path)
        try:
            source = path.read_text(encoding="utf-8")
            if name.startswith("personas/"):
                source = split_front_matter(source)[1]
            tree = environment.parse(source, name, str(path))
            code = environment.compile(tree, name, str(path))
        except TemplateSyntaxError as e:
            raise PromptError(f"syntax error: {e.message}", path, e.lineno) from None
        except PromptError as e:
            raise PromptError(e.reason, path, e.line) from None
        except Exception as e:  # unreadable, not UTF-8, nested too deep to parse
            raise PromptError(f"cannot load: {type(e).__name__}: {e}", path) from None
        template = self._trying[name] = environment.template_class.from_code(environment, code, globals or {}, lambda: False)
        try:
            self._accept(name, template, tree.find(nodes.Extends) is not None)
        finally:
            del self._trying[name]
        self._good[name] = code
        return code


def _located(e: BaseException, reason: str) -> PromptError:
    # Jinja rewrites tracebacks so template frames carry the template file and line
    for frame in reversed(traceback.extract_tb(e.__traceback__)):
        if frame.filename.endswith(SUFFIX):
            return PromptError(reason, frame.filename, frame.lineno)
    return PromptError(reason)


_UNDEFINED = re.compile(r"'(\w+)' is undefined")


def as_prompt_error(e: BaseException) -> PromptError:
    if isinstance(e, PromptError):
        return e
    if isinstance(e, TemplateSyntaxError):
        return PromptError(f"syntax error: {e.message}", e.filename or e.name, e.lineno)
    if isinstance(e, TemplateNotFound):
        return PromptError(f"no template {e.name!r}")
    if isinstance(e, BudgetExceeded):
        return _located(e, f"over the render budget: {e}")
    if isinstance(e, SecurityError):
        return _located(e, f"refused by the sandbox: {e}")
    if isinstance(e, UndefinedError) and (m := _UNDEFINED.fullmatch(e.message or "")):
        return _located(e, f"undefined variable {m[1]!r}")  # as `prompts check` words it
    if isinstance(e, TemplateError):
        return _located(e, f"{type(e).__name__}: {e.message}")
    if isinstance(e, RecursionError):
        return _located(e, "nested too deep (a macro or include that never ends?)")
    return _located(e, f"{type(e).__name__}: {e}")


def _output(template: Any, render: Callable[[], Iterable[str]]) -> str:
    try:
        return collect(render())
    except RecursionError:  # rewriting a thousand frames would take longer than the render
        raise PromptError("nested too deep (a macro or include that never ends?)", template.filename) from None
    except Exception:
        try:
            template.environment.handle_exception()  # as Template.render does: template file and line in the traceback
        except Exception as e:
            error = as_prompt_error(e)
            raise (error if error.file else PromptError(error.reason, template.filename)) from None
        raise


class PromptLibrary:
    """The templates of one folder: ``directory``, else $PROMPTS_DIR, else this package."""

    def __init__(self, directory: str | os.PathLike[str] | None = None, *, budget: Budget | None = None) -> None:
        self.root = Path(directory or os.environ.get("PROMPTS_DIR") or PACKAGE_DIR).resolve()
        if not self.root.is_dir():
            raise PromptError("the prompts folder does not exist", self.root)
        if not (self.root / "personas").is_dir():
            raise PromptError("not a prompts folder: it has no personas/ folder", self.root)
        self.budget = budget or Budget()
        self.env = BudgetedSandbox(
            loader=_Loader(self.root, self._accept, self.budget.chars),
            undefined=StrictUndefined,
            auto_reload=True,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self._personas: dict[str, tuple[Any, Persona | None, PromptError | None]] = {}  # id -> stamp, last good, error
        self._yaml: dict[str, tuple[Any, Any]] = {}
        self._listed: tuple[float, dict[str, Persona]] | None = None

    # -- personas -----------------------------------------------------------------------

    def persona(self, persona_id: str) -> Persona:
        """The persona, re-read when its file changes (the last good one if the edit broke
        it, or deleted it: a session speaking as it goes on)."""
        if not isinstance(persona_id, str) or not _PERSONA_ID.fullmatch(persona_id):
            raise PromptError(f"unknown persona {persona_id!r}; available: {', '.join(self.personas())}")
        path = self.root / "personas" / (persona_id + SUFFIX)
        stamp = _stamp(path)
        cached = self._personas.get(persona_id)
        if stamp is None and (cached is None or cached[1] is None):
            raise PromptError(f"unknown persona {persona_id!r}; available: {', '.join(self.personas())}")
        if cached is None or cached[0] != stamp:
            try:
                if stamp is None:
                    raise PromptError("the file was deleted", path)
                cached = (stamp, parse_persona(persona_id, inside(self.root, f"personas/{persona_id}{SUFFIX}")), None)
            except PromptError as e:
                good = cached[1] if cached else None
                logger.warning("%s%s", e, " (serving the last good version)" if good else "")
                cached = (stamp, good, e)
            self._personas[persona_id] = cached
        if cached[1] is None:
            raise cached[2]
        return cached[1]

    def personas(self) -> dict[str, Persona]:
        """Every usable persona, by id in alphabetical order."""
        # the folder is listed at most every RESCAN_SECONDS: renders stay cheap, edits show within a second
        now = time.monotonic()
        if self._listed is None or now - self._listed[0] >= RESCAN_SECONDS:
            self._listed = (now, self._scan())
        return dict(self._listed[1])

    def _scan(self) -> dict[str, Persona]:
        found: dict[str, Persona] = {}
        folder = self.root / "personas"
        names = sorted(e.name for e in os.scandir(folder)) if folder.is_dir() else []
        for file in names:
            pid = file[: -len(SUFFIX)]
            if file.endswith(SUFFIX) and _PERSONA_ID.fullmatch(pid):
                try:
                    found[pid] = self.persona(pid)
                except PromptError:
                    pass  # logged once per edit by persona()
        return found

    def templates(self) -> list[str]:
        """Every template name, without the suffix."""
        return sorted(p.relative_to(self.root).as_posix()[: -len(SUFFIX)] for p in self.root.rglob("*" + SUFFIX))

    # -- rendering ---------------------------------------------------------------------

    def render(self, name: str, **variables: Any) -> str:
        """Renders a template; the persona's declared defaults sit under the given values."""
        persona = variables.get("persona")
        pid = persona.get("id") if isinstance(persona, Mapping) else None
        return self._render(name, pid, variables)

    def render_persona(self, persona_id: str, **variables: Any) -> str:
        """The persona's system prompt."""
        return self._render(f"personas/{self.persona(persona_id).id}", persona_id, variables)

    def render_block(self, persona_id: str, block: str, **variables: Any) -> str:
        """One block of a persona's template on its own (``offline_reply``)."""
        return self._render(f"personas/{self.persona(persona_id).id}", persona_id, variables, block=block)

    def _render(self, name: str, pid: str | None, variables: dict[str, Any], block: str | None = None) -> str:
        try:
            with metered(self.budget):
                values = self._base_values(pid) | variables
                template = self.env.get_template(template_name(name))
                if block is None:
                    return _output(template, lambda: template.root_render_func(template.new_context(values))).strip()
                if block not in template.blocks:
                    raise PromptError(f"persona {pid!r} has no block {block!r}", template.filename)
                return _output(template, lambda: template.blocks[block](template.new_context(values))).strip()
        except Exception as e:  # any fault inside a template is the template's, reported as such
            raise as_prompt_error(e) from None

    def _base_values(self, pid: str | None) -> dict[str, Any]:
        everyone = self.personas()
        listed = [{"id": p.id, "name": p.name, "description": p.description} for p in everyone.values()]
        try:  # a persona deleted mid-session is no longer listed, but still speaks with its defaults
            defaults = self.persona(pid).defaults if pid else {}
        except PromptError:
            defaults = {}
        return {"personas": listed, **defaults}

    def _accept(self, name: str, template: Any, extends: bool) -> None:
        """A new version of ``name`` serves only if this passes: it renders, with each
        persona's defaults and sample values, within one render's budget, to some text;
        so does each block it defines that no layout places (rendered on its own, as
        ``offline_reply`` is)."""
        everyone = self.personas()
        pid = name[len("personas/") : -len(SUFFIX)] if name.startswith("personas/") else None
        speakers = [self.persona(pid)] if pid else list(everyone.values())
        try:
            with metered(self.budget):
                for persona in speakers:
                    for sample in variants(persona, everyone, every=False):
                        values = self._base_values(persona.id) | sample
                        context = template.new_context(values)
                        if not _output(template, lambda: template.root_render_func(context)).strip():
                            raise PromptError("renders no text (an empty or half-written file?)", template.filename)
                        for block, render in template.blocks.items():
                            if extends and len(context.blocks.get(block, ())) == 1:
                                if not _output(template, lambda: render(template.new_context(values))).strip():
                                    raise PromptError(f"block {block!r} renders no text", template.filename)
        except Exception as e:
            raise as_prompt_error(e) from None

    # -- data files ----------------------------------------------------------------------

    def load_yaml(self, name: str) -> Any:
        """A YAML file in the folder (``triggers`` -> ``triggers.yaml``); ``{}`` if absent.
        The same object comes back until the file changes."""
        stem = name.removesuffix(".yaml") if isinstance(name, str) else name
        if not isinstance(stem, str) or not _NAME.fullmatch(stem):
            raise PromptError(f"file name {name!r} is not allowed")
        path = self.root / (stem + ".yaml")
        stamp = _stamp(path)
        cached = self._yaml.get(stem)
        if cached is None or cached[0] != stamp:
            inside(self.root, stem + ".yaml")
            try:
                data = yaml.safe_load(path.read_text(encoding="utf-8")) if stamp else {}
            except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
                mark = getattr(e, "problem_mark", None)
                logger.warning("%s:%s: %s%s", path, mark.line + 1 if mark else 1, e, " (serving the last good version)" if cached else "")
                data = cached[1] if cached else {}
            cached = self._yaml[stem] = (stamp, data if data is not None else {})
        return cached[1]

    def triggers(self) -> Any:
        return self.load_yaml("triggers")

    def examples(self, name: str = EXAMPLES) -> list[Example]:
        """The intent examples (``intents/examples.yaml``); a faulty section is left out
        and logged (``prompts check`` reports it with its line)."""
        found, faults = parse_examples(self.load_yaml(name), self.personas())
        for where, reason in faults:
            logger.warning("%s.yaml: %s: %s", name, where, reason)
        return found

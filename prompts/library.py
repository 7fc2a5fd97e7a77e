"""Loads, checks and renders the prompt templates in one folder.

Templates run in Jinja's immutable sandbox with strict undefined variables;
user values only ever arrive as variables, never as template source. Every file
is re-read when it changes on disk, and an edit that breaks it is logged while
the last good version keeps serving.
"""

from __future__ import annotations

import logging
import os
import re
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from jinja2 import BaseLoader, StrictUndefined, TemplateError, TemplateNotFound, TemplateSyntaxError
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

logger = logging.getLogger("prompts")

PACKAGE_DIR = Path(__file__).resolve().parent
SUFFIX = ".md.j2"
DEFAULT_PERSONA = "assistant"
# letters, digits, "_" and "-" per segment: no "..", no absolute paths, no backslashes
_NAME = re.compile(r"[A-Za-z0-9_-]+(?:/[A-Za-z0-9_-]+)*")
_PERSONA_ID = re.compile(r"[a-z0-9_-]+")  # lowercase: the tool lowercases what the model sends
# the capabilities a template sees when the caller gives none: everything works
DEFAULT_CAPABILITIES = {
    "instructions_apply_live": True,
    "context_edits_live": True,
    "voice_can_change": True,
    "voice_changes_live": True,
}
STANDARD_VARIABLES = ("persona", "user_name", "now", "language", "capabilities", "away", "personas")
PERSONA_FIELDS = {"name": str, "description": str, "greeting": str, "aliases": list, "voices": dict, "defaults": dict}
REQUIRED_FIELDS = ("name", "description", "greeting")
VOICE_KEYS = ("openai", "google", "tts", "offline")
RESCAN_SECONDS = 0.25


class PromptError(Exception):
    """A template or persona that cannot be used, with where the fault is."""

    def __init__(self, reason: str, file: str | os.PathLike[str] | None = None, line: int | None = None) -> None:
        self.reason, self.file, self.line = reason, str(file) if file else None, line
        where = f"{self.file}:{line}: " if self.file and line else f"{self.file}: " if self.file else ""
        super().__init__(where + reason)


@dataclass(frozen=True)
class Persona:
    id: str
    name: str
    description: str
    greeting: str
    aliases: tuple[str, ...] = ()
    voices: Mapping[str, str] = field(default_factory=dict, hash=False)
    defaults: Mapping[str, Any] = field(default_factory=dict, hash=False)


def standard_variables(
    persona: Persona,
    *,
    user_name: str | None = None,
    language: str = "en",
    capabilities: Mapping[str, bool] | None = None,
    away: bool = False,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The variables every template gets (the library adds ``personas``)."""
    return {
        "persona": {"id": persona.id, "name": persona.name, "description": persona.description, "greeting": persona.greeting},
        "user_name": user_name,
        "now": now or datetime.now().astimezone(),
        "language": language,
        # a partial mapping still leaves every documented key defined
        "capabilities": DEFAULT_CAPABILITIES | dict(capabilities or {}),
        "away": away,
    }


def template_name(name: str) -> str:
    """``lines/forget`` or ``lines/forget.md.j2`` -> ``lines/forget.md.j2``; refuses anything else."""
    stem = name[: -len(SUFFIX)] if isinstance(name, str) and name.endswith(SUFFIX) else name
    if not isinstance(stem, str) or not _NAME.fullmatch(stem):
        raise PromptError(f"template name {name!r} is not allowed: use letters, digits, '_' and '-' in '/'-separated parts")
    return stem + SUFFIX


def inside(root: Path, relative: str) -> Path:
    """The file for a checked name; refuses a symlink that leads out of the folder."""
    path = (root / relative).resolve()
    if not path.is_relative_to(root):
        raise PromptError(f"{relative!r} leads outside the prompts folder")
    return path


def _stamp(path: Path) -> tuple[int, int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size, st.st_ino


def split_front_matter(text: str) -> tuple[str | None, str]:
    """YAML between ``---`` lines at the top, and the body with those lines blanked
    so Jinja's line numbers stay the file's."""
    lines = text.split("\n")
    if not lines or lines[0].rstrip() != "---":
        return None, text
    for end in range(1, len(lines)):
        if lines[end].rstrip() == "---":
            return "\n".join(lines[1:end]), "\n" * (end + 1) + "\n".join(lines[end + 1 :])
    raise PromptError("the front matter has no closing '---' line", line=1)


def field_line(text: str, key: str, containing: str = "") -> int:
    """The line of a front matter field (or of a value under it), for error messages."""
    lines = text.split("\n")
    start = next((i for i, ln in enumerate(lines) if re.match(rf"{re.escape(key)}\s*:", ln)), None)
    if start is None:
        return 1
    at = next((i for i in range(start, len(lines)) if containing in lines[i] or lines[i].rstrip() == "---"), start)
    return (at if containing in lines[at] else start) + 1


def parse_persona(persona_id: str, path: Path) -> Persona:
    """Reads and validates a persona's front matter; errors name the file and field."""

    def fail(reason: str, key: str | None = None) -> PromptError:
        return PromptError(reason, path, field_line(text, key) if key else 1)

    try:
        text = path.read_text(encoding="utf-8")
        meta_text, _ = split_front_matter(text)
    except (OSError, UnicodeDecodeError) as e:
        raise PromptError(f"cannot read: {e}", path) from None
    except PromptError as e:
        raise PromptError(e.reason, path, e.line) from None
    if not _PERSONA_ID.fullmatch(persona_id):
        raise PromptError("a persona file name must be lowercase letters, digits, '_' or '-'", path)
    if meta_text is None:
        raise PromptError("a persona starts with front matter between '---' lines", path, 1)
    try:
        meta = yaml.safe_load(meta_text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        raise PromptError(f"front matter is not valid YAML: {getattr(e, 'problem', e)}", path, mark.line + 2 if mark else 1) from None
    if not isinstance(meta, dict):
        raise fail("front matter must be a mapping of fields")
    for key, value in meta.items():
        if key not in PERSONA_FIELDS:
            raise fail(f"unknown field {key!r} (allowed: {', '.join(PERSONA_FIELDS)})", str(key))
        if not isinstance(value, PERSONA_FIELDS[key]) and not (value is None and key not in REQUIRED_FIELDS):
            raise fail(f"field {key!r} must be a {PERSONA_FIELDS[key].__name__}", key)
    for key in REQUIRED_FIELDS:
        if not str(meta.get(key) or "").strip():
            raise fail(f"field {key!r} is required and must not be empty", key)
    if "\n" in meta["description"].strip():
        raise fail("field 'description' must be one line", "description")
    aliases = meta.get("aliases") or []
    if not all(isinstance(a, str) and a.strip() for a in aliases):
        raise fail("field 'aliases' must be a list of words", "aliases")
    voices = meta.get("voices") or {}
    for key, value in voices.items():
        if key not in VOICE_KEYS or not isinstance(value, str) or not value.strip():
            raise fail(f"voices: {key!r} must be one of {', '.join(VOICE_KEYS)} with a voice name", "voices")
    defaults = meta.get("defaults") or {}
    for key in defaults:
        if not isinstance(key, str) or not key.isidentifier() or key in STANDARD_VARIABLES:
            raise fail(f"defaults: {key!r} must be a variable name other than the standard ones", "defaults")
    return Persona(
        persona_id, meta["name"].strip(), meta["description"].strip(), meta["greeting"].strip(),
        tuple(a.strip() for a in aliases), dict(voices), dict(defaults),
    )  # fmt: skip


class _Loader(BaseLoader):
    """Names resolve only inside the folder; a broken edit serves the last good code."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._good: dict[str, Any] = {}  # name -> last code that compiled

    def load(self, environment: Any, name: str, globals: Any = None) -> Any:
        name = template_name(name)
        inside(self.root, name)  # refuses a symlink leading out; checked again whenever the file changes
        path = self.root / name
        stamp = _stamp(path)
        if stamp is None or not path.is_file():
            raise TemplateNotFound(name)
        try:
            source = path.read_text(encoding="utf-8")
            if name.startswith("personas/"):
                source = split_front_matter(source)[1]
            code = self._good[name] = environment.compile(source, name, str(path))
        except (TemplateSyntaxError, UnicodeDecodeError, PromptError) as e:
            reason = f"syntax error: {e.message}" if isinstance(e, TemplateSyntaxError) else getattr(e, "reason", str(e))
            error = PromptError(reason, path, getattr(e, "lineno", None) or getattr(e, "line", None))
            if name not in self._good:
                raise error from None
            code = self._good[name]
            logger.warning("%s:%s: %s (serving the last good version)", path, error.line or 1, error.reason)
        # Jinja re-checks this on each get_template: a changed file is loaded again
        return environment.template_class.from_code(environment, code, globals or {}, lambda: _stamp(path) == stamp)


class _Environment(ImmutableSandboxedEnvironment):
    # "**" and "*" could build huge numbers or strings: a template must not hang the agent
    intercepted_binops = frozenset({"**", "*"})

    def call_binop(self, context: Any, op: str, left: Any, right: Any) -> Any:
        if op == "**" and isinstance(right, (int, float)) and abs(right) > 64:
            raise SecurityError("exponent too large")
        if op == "*":
            seq, n = (left, right) if isinstance(left, (str, list, tuple)) else (right, left)
            if isinstance(seq, (str, list, tuple)) and isinstance(n, int) and len(seq) * n > 100_000:
                raise SecurityError("repetition too large")
        return super().call_binop(context, op, left, right)


def _located(e: BaseException, reason: str) -> PromptError:
    # Jinja rewrites tracebacks so template frames carry the template file and line
    for frame in reversed(traceback.extract_tb(e.__traceback__)):
        if frame.filename.endswith(SUFFIX):
            return PromptError(reason, frame.filename, frame.lineno)
    return PromptError(reason)


def as_prompt_error(e: Exception) -> PromptError:
    if isinstance(e, PromptError):
        return e
    if isinstance(e, TemplateSyntaxError):
        return PromptError(f"syntax error: {e.message}", e.filename or e.name, e.lineno)
    if isinstance(e, TemplateNotFound):
        return PromptError(f"no template {e.name!r}")
    if isinstance(e, SecurityError):
        return _located(e, f"refused by the sandbox: {e}")
    if isinstance(e, TemplateError):
        return _located(e, f"{type(e).__name__}: {e.message}")
    return _located(e, f"{type(e).__name__}: {e}")


class PromptLibrary:
    """The templates of one folder: ``directory``, else $PROMPTS_DIR, else this package."""

    def __init__(self, directory: str | os.PathLike[str] | None = None) -> None:
        self.root = Path(directory or os.environ.get("PROMPTS_DIR") or PACKAGE_DIR).resolve()
        if not self.root.is_dir():
            raise PromptError("the prompts folder does not exist", self.root)
        self.env = _Environment(
            loader=_Loader(self.root),
            undefined=StrictUndefined,
            auto_reload=True,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        # cycler, joiner, namespace, lipsum and dict only widen what a template can reach
        self.env.globals = {"range": self.env.globals["range"]}
        self._personas: dict[str, tuple[Any, Persona | None, PromptError | None]] = {}  # id -> stamp, last good, error
        self._yaml: dict[str, tuple[Any, Any]] = {}
        self._listed: tuple[float, dict[str, Persona]] | None = None

    # -- personas -----------------------------------------------------------------------

    def persona(self, persona_id: str) -> Persona:
        """The persona, re-read when its file changes (the last good one if the edit broke it)."""
        if not isinstance(persona_id, str) or not _PERSONA_ID.fullmatch(persona_id):
            raise PromptError(f"unknown persona {persona_id!r}; available: {', '.join(self.personas())}")
        path = self.root / "personas" / (persona_id + SUFFIX)
        stamp = _stamp(path)
        if stamp is None:
            raise PromptError(f"unknown persona {persona_id!r}; available: {', '.join(self.personas())}")
        cached = self._personas.get(persona_id)
        if cached is None or cached[0] != stamp:
            try:
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
        return self._render(name, pid, lambda t, v: t.render(v), variables)

    def render_persona(self, persona_id: str, **variables: Any) -> str:
        """The persona's system prompt."""
        return self._render(f"personas/{self.persona(persona_id).id}", persona_id, lambda t, v: t.render(v), variables)

    def render_block(self, persona_id: str, block: str, **variables: Any) -> str:
        """One block of a persona's template on its own (``offline_reply``)."""

        def run(template: Any, values: dict[str, Any]) -> str:
            if block not in template.blocks:
                raise PromptError(f"persona {persona_id!r} has no block {block!r}", template.filename)
            try:
                return "".join(template.blocks[block](template.new_context(values)))
            except Exception:
                template.environment.handle_exception()  # as Template.render does: template file and line in the traceback

        return self._render(f"personas/{self.persona(persona_id).id}", persona_id, run, variables)

    def _render(self, name: str, pid: str | None, run: Callable[[Any, dict[str, Any]], str], variables: dict[str, Any]) -> str:
        try:
            values = self._base_values(pid) | variables
            return run(self.env.get_template(template_name(name)), values).strip()
        except Exception as e:  # any fault inside a template is the template's, reported as such
            raise as_prompt_error(e) from None

    def _base_values(self, pid: str | None) -> dict[str, Any]:
        everyone = self.personas()
        listed = [{"id": p.id, "name": p.name, "description": p.description} for p in everyone.values()]
        defaults = self.persona(pid).defaults if pid in everyone else {}
        return {"personas": listed, **defaults}

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

"""A persona file's front matter, the variables every template gets, and the sample
values templates are tried with (by the library before a new version serves, and by
``prompts check``)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

PERSONA_ID = re.compile(r"[a-z0-9_-]+")  # lowercase: the tool lowercases what the model sends
DEFAULT_CAPABILITIES = {
    "instructions_apply_live": True,
    "context_edits_live": True,
    "voice_can_change": True,
    "voice_changes_live": True,
}
STANDARD_VARIABLES = ("persona", "user_name", "now", "language", "capabilities", "away", "personas")
PERSONA_FIELDS = {"name": str, "description": str, "greeting": str, "aliases": list, "voices": dict, "defaults": dict}
REQUIRED_FIELDS = ("name", "description", "greeting")
VOICE_KEYS = ("openai", "google", "ultravox", "aws", "tts", "offline")
# the variables only some lines get, with the values tried (the first is the CLI's default)
LINE_SAMPLES: dict[str, list[Any]] = {
    "previous": [None],  # filled with another persona
    "scope": ["last_turn", "everything"],
    "about": [None, "your card number"],
    "minutes": [None, 5, 0.5],
    "reason": [None, "someone's at the door"],
    "requested": [True, False],
}


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


def sample_variables(persona: Persona, everyone: Mapping[str, Persona], **overrides: Any) -> dict[str, Any]:
    """Standard variables plus a value for every line variable."""
    other = next((p for p in everyone.values() if p.id != persona.id), persona)
    values = standard_variables(persona) | {key: options[0] for key, options in LINE_SAMPLES.items()}
    return values | {"previous": {"id": other.id, "name": other.name}} | overrides


def variants(persona: Persona, everyone: Mapping[str, Persona], *, every: bool = True) -> Iterator[dict[str, Any]]:
    """Sample values that reach each branch a template commonly has: the plain ones, then
    the other side of each choice (all of them with ``every``, else one set)."""
    base = sample_variables(persona, everyone)
    yield base
    if not every:
        yield base | {"user_name": "Sam", "away": True} | {key: options[-1] for key, options in LINE_SAMPLES.items() if key != "previous"}
        return
    yield base | {"user_name": "Sam"}
    yield base | {"away": True, "language": "fr"}
    yield base | {"capabilities": {key: False for key in DEFAULT_CAPABILITIES}}
    for key, options in LINE_SAMPLES.items():
        for value in options[1:]:
            yield base | {key: value}


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
    if not PERSONA_ID.fullmatch(persona_id):
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

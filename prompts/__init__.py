"""Everything the agent is told or says, as Jinja templates in this folder.

A prompt author edits files here, never Python: personas in ``personas/``, the
shared layout in ``base.md.j2``, spoken lines in ``lines/``, trigger phrases in
``triggers.yaml``. See README.md for the variables each template gets.
This package knows nothing of LiveKit.
"""

from __future__ import annotations

from typing import Any

from .check import Problem, check
from .examples import EXAMPLES, HELD_OUT, Example, parse_examples
from .library import APOLOGY, DEFAULT_PERSONA, Persona, PromptError, PromptLibrary, standard_variables
from .persona import sample_variables

__all__ = [
    "APOLOGY",
    "DEFAULT_PERSONA",
    "EXAMPLES",
    "HELD_OUT",
    "Example",
    "Persona",
    "Problem",
    "PromptError",
    "PromptLibrary",
    "check",
    "default_library",
    "load_yaml",
    "parse_examples",
    "render",
    "render_block",
    "render_persona",
    "sample_variables",
    "standard_variables",
    "triggers",
]

_default: PromptLibrary | None = None


def default_library() -> PromptLibrary:
    """One shared library for $PROMPTS_DIR (else this folder), made on first use."""
    global _default
    if _default is None:
        _default = PromptLibrary()
    return _default


def render(name: str, **variables: Any) -> str:
    return default_library().render(name, **variables)


def render_persona(persona_id: str, **variables: Any) -> str:
    return default_library().render_persona(persona_id, **variables)


def render_block(persona_id: str, block: str, **variables: Any) -> str:
    return default_library().render_block(persona_id, block, **variables)


def load_yaml(name: str) -> Any:
    return default_library().load_yaml(name)


def triggers() -> Any:
    return default_library().triggers()

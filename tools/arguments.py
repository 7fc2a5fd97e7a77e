"""Argument checks for the session tools.

Models send odd things: numbers as strings, booleans for numbers, huge values,
unknown enum members. Each check returns the clean value or raises ToolError
with a message the model can act on; nothing changes on a bad call.
"""

from __future__ import annotations

import math
from collections.abc import Collection

from livekit.agents.llm import ToolError

FORGET_SCOPES = ("last_turn", "everything")
MAX_AWAY_MINUTES = 120
MAX_REASON_CHARS = 200
MAX_ABOUT_CHARS = 100


def check_persona(value: object, known: Collection[str]) -> str:
    valid = ", ".join(sorted(known))
    if not isinstance(value, str) or not value.strip():
        raise ToolError(f"`persona` must be one of: {valid}.")
    persona = value.strip().lower()
    if persona not in known:
        raise ToolError(f"Unknown persona {value[:40]!r}. Valid personas: {valid}. Nothing changed.")
    return persona


def check_scope(value: object) -> str:
    if value is None:
        return "last_turn"
    if not isinstance(value, str) or value.strip().lower() not in FORGET_SCOPES:
        raise ToolError(
            f"`scope` must be one of: {', '.join(FORGET_SCOPES)}. Nothing was forgotten."
        )
    return value.strip().lower()


def check_minutes(value: object) -> float | None:
    """Minutes the user asked for, or None for the default hold: a whole number as an int
    (5, whether the model sent 5, 5.0 or "5"), a fraction as a float (0.5)."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ToolError("`minutes` must be a number of minutes, not true/false.")
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            raise ToolError("`minutes` must be a number, e.g. 5.") from None
    if not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ToolError("`minutes` must be a number, e.g. 5.")
    if not 0 < value <= MAX_AWAY_MINUTES:
        raise ToolError(f"`minutes` must be more than 0 and at most {MAX_AWAY_MINUTES}.")
    return int(value) if float(value).is_integer() else float(value)


def check_reason(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ToolError("`reason` must be a short text.")
    reason = " ".join(value.split())
    return reason[:MAX_REASON_CHARS] or None


def check_about(value: object) -> str | None:
    """What to forget ("my card number"), or None to forget by scope."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ToolError("`about` must be a few words naming what to forget, e.g. \"my card number\". Nothing was forgotten.")
    about = " ".join(value.split())
    if len(about) > MAX_ABOUT_CHARS:
        raise ToolError(f"`about` must be a few words (at most {MAX_ABOUT_CHARS} characters). Nothing was forgotten.")
    return about or None

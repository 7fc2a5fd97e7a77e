"""Intent examples: what people say, and which session tool (if any) it asks for.

``intents/examples.yaml`` is read by the offline model; ``intents/held_out.yaml``
has the same layout and is kept aside for measuring only. Both are plain content:
this module turns them into ``Example`` rows and names every fault an author can
fix (``prompts check`` reports them). Knows nothing of LiveKit or the agent.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from typing import Any

EXAMPLES = "intents/examples"
HELD_OUT = "intents/held_out"
NO_TOOL = ("near_misses", "chat")
FORGET_SCOPES = ("last_turn", "everything")
# the tool's own limit (tools/arguments.py MAX_AWAY_MINUTES); prompts/ imports nothing of tools/
MAX_MINUTES = 120


@dataclass(frozen=True)
class Example:
    """``tool`` None: no tool (``kind`` tells a near miss from ordinary chat)."""

    text: str
    tool: str | None
    arguments: dict[str, Any] = field(default_factory=dict, hash=False)
    kind: str = "request"


def parse_examples(data: Any, personas: Collection[str] = ()) -> tuple[list[Example], list[tuple[str, str]]]:
    """The examples, and the faults as (section, reason). ``personas``: the known ids
    (unchecked when empty)."""
    out: list[Example] = []
    faults: list[tuple[str, str]] = []
    if data in (None, {}):
        return out, faults
    if not isinstance(data, dict):
        return out, [("examples", "expected sections: switch_persona, mark_user_away, forget_conversation, near_misses, chat")]
    for section, body in data.items():
        try:
            out.extend(_section(str(section), body, personas))
        except _Fault as f:
            faults.append((f.where, f.reason))
    seen: dict[str, Example] = {}
    for ex in out:
        key = " ".join(ex.text.lower().split())
        other = seen.setdefault(key, ex)
        if other is not ex and (other.tool, other.arguments) != (ex.tool, ex.arguments):
            faults.append((ex.tool or ex.kind, f"{ex.text!r} is listed with two different outcomes"))
    return out, faults


class _Fault(Exception):
    def __init__(self, where: str, reason: str) -> None:
        self.where, self.reason = where, reason


def _lines(where: str, body: Any) -> list[str]:
    if not isinstance(body, list) or not all(isinstance(t, str) and t.strip() for t in body):
        odd = next((t for t in body if not isinstance(t, str)), None) if isinstance(body, list) else None
        hint = f" ({odd!r} is not text: put quotes around yes, no, on, off and numbers)" if odd is not None else ""
        raise _Fault(where, "expected a list of lines (texts)" + hint)
    return [t.strip() for t in body]


def _mapping(where: str, body: Any) -> dict[Any, Any]:
    if not isinstance(body, dict):
        raise _Fault(where, "expected a mapping")
    return body


def _section(section: str, body: Any, personas: Collection[str]) -> Iterator[Example]:
    if section in NO_TOOL:
        for text in _lines(section, body):
            yield Example(text, None, kind="near_miss" if section == "near_misses" else "chat")
    elif section == "switch_persona":
        for pid, lines in _mapping(section, body).items():
            if personas and pid not in personas:
                raise _Fault(f"{section}.{pid}", f"unknown persona {pid!r} (known: {', '.join(sorted(personas))})")
            for text in _lines(f"{section}.{pid}", lines):
                yield Example(text, section, {"persona": str(pid)})
    elif section == "mark_user_away":
        for minutes, lines in _mapping(section, body).items():
            where = f"{section}.{minutes}"
            if minutes == "default":
                arguments: dict[str, Any] = {}
            else:
                try:
                    value = float(minutes)
                except (TypeError, ValueError):
                    raise _Fault(where, "expected `default` or a number of minutes") from None
                if not 0 < value <= MAX_MINUTES:
                    raise _Fault(where, f"minutes must be more than 0 and at most {MAX_MINUTES} (the tool's limit)")
                arguments = {"minutes": value}
            for text in _lines(where, lines):
                yield Example(text, section, arguments)
    elif section == "forget_conversation":
        for scope, lines in _mapping(section, body).items():
            where = f"{section}.{scope}"
            if scope in FORGET_SCOPES:
                for text in _lines(where, lines):
                    yield Example(text, section, {"scope": scope})
            elif scope == "about":
                for about, about_lines in _mapping(where, lines).items():
                    if not isinstance(about, str) or not about.strip():
                        raise _Fault(where, "each key is what to forget, in a few words")
                    for text in _lines(f"{where}.{about}", about_lines):
                        yield Example(text, section, {"about": about.strip()})
            else:
                raise _Fault(where, f"expected {', '.join(FORGET_SCOPES)} or about")
    else:
        raise _Fault(section, "unknown section (expected switch_persona, mark_user_away, forget_conversation, near_misses, chat)")

"""What the offline understanding reads and decides: the words of a line (lowercase,
curly apostrophes made straight), phrase lists as authors write them in
prompts/triggers.yaml, and the Intent (a tool call) decided from them."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

_WORD = re.compile(r"[a-z0-9']+")


def words(text: str) -> tuple[str, ...]:
    return tuple(_WORD.findall(text.lower().replace("\u2019", "'")))


@dataclass(frozen=True)
class Intent:
    tool: str
    arguments: dict[str, Any] = field(default_factory=dict)


def phrases(items: Iterable[Any] | None) -> list[tuple[str, ...]]:
    # longest first, so "forget what i said" wins over "forget"
    out = {words(str(p)) for p in items or () if words(str(p))}
    return sorted(out, key=len, reverse=True)

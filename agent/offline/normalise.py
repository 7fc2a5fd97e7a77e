"""Words as people say them, made regular before they are read: what speech-to-text
writes ("um forget forget what i said", "for get that") and what a keyboard does.

Fillers go, a word or phrase said twice in a row counts once, and what speech-to-text
mishears (``heard_as`` in triggers.yaml) is put back. Durations in words or digits
("half an hour", "back in five", "2 hrs") become minutes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from .words import words

_CLAUSE = re.compile(r"[.!?;,:\n]+")
_SMALL = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen".split()
_NUMBERS = {w: i for i, w in enumerate(_SMALL)} | {"twenty": 20, "thirty": 30, "forty": 40, "fourty": 40, "fifty": 50, "sixty": 60, "ninety": 90}
_TENS = {"twenty", "thirty", "forty", "fourty", "fifty", "sixty", "ninety"}
_ONE = {"a", "an", "one"}
_MINUTE = {"minute", "minutes", "min", "mins", "minuts"}
_HOUR = {"hour", "hours", "hr", "hrs"}
UNITS = {"minute", "minutes", "min", "mins", "minuts", "hour", "hours", "hr", "hrs", "half"}
_SHORT = {"sec", "secs", "second", "seconds", "moment", "moments", "mo", "tick", "jiffy", "bit", "while"}


class Normaliser:
    def __init__(self, triggers: Mapping[str, Any]) -> None:
        self.fillers = set(words(" ".join(triggers.get("fillers") or ())))
        heard = triggers.get("heard_as") or {}
        pairs = [(words(str(k)), words(str(v))) for k, v in (heard.items() if isinstance(heard, Mapping) else ())]
        self.heard_as = sorted((p for p in pairs if p[0]), key=lambda p: -len(p[0]))

    def clauses(self, text: str) -> list[tuple[str, ...]]:
        """The text's clauses (split at punctuation), each as regular words."""
        out = []
        for clause in _CLAUSE.split(text):
            ws = [w for w in words(clause) if w not in self.fillers]
            ws = _collapse_repeats(self._put_back(ws))
            if ws:
                out.append(tuple(ws))
        return out

    def text(self, text: str) -> str:
        return ", ".join(" ".join(c) for c in self.clauses(text))

    def _put_back(self, ws: list[str]) -> list[str]:
        out, i = [], 0
        while i < len(ws):
            for heard, meant in self.heard_as:
                if tuple(ws[i : i + len(heard)]) == heard:
                    out.extend(meant)
                    i += len(heard)
                    break
            else:
                out.append(ws[i])
                i += 1
        return out


def _collapse_repeats(ws: list[str]) -> list[str]:
    """ "hang on hang on" -> "hang on", "to to" -> "to"."""
    for n in (3, 2, 1):
        i = 0
        while i + 2 * n <= len(ws):
            if ws[i : i + n] == ws[i + n : i + 2 * n]:
                del ws[i + n : i + 2 * n]
            else:
                i += 1
    return ws


def number_at(ws: Sequence[str], i: int) -> tuple[float, int] | None:
    """A number starting at ``ws[i]`` ("5", "twenty five", "a couple of") and the index after it."""
    if i >= len(ws):
        return None
    w = ws[i]
    if w.isdigit():
        return float(w), i + 1
    if w in _TENS and i + 1 < len(ws) and ws[i + 1] in _NUMBERS and 0 < _NUMBERS[ws[i + 1]] < 10:
        return float(_NUMBERS[w] + _NUMBERS[ws[i + 1]]), i + 2
    if w in _NUMBERS:
        return float(_NUMBERS[w]), i + 1
    if w in _ONE and i + 1 < len(ws) and ws[i + 1] in ("couple", "few"):
        j = i + 3 if i + 2 < len(ws) and ws[i + 2] == "of" else i + 2
        return (2.0 if ws[i + 1] == "couple" else 3.0), j
    if w in ("couple", "few"):
        return (2.0 if w == "couple" else 3.0), i + 2 if i + 1 < len(ws) and ws[i + 1] == "of" else i + 1
    if w in _ONE:
        return 1.0, i + 1
    return None


def duration_at(ws: Sequence[str], i: int, *, bare: bool = False) -> tuple[float | None, int] | None:
    """A stretch of time starting at ``ws[i]``: (minutes, index after it). Minutes are None
    for "a sec" or "a bit" (no length said). ``bare``: a number alone counts as minutes
    ("back in five")."""
    ws = list(ws)
    if ws[i : i + 3] in (["half", "an", "hour"], ["half", "a", "hour"]) or ws[i : i + 4] == ["a", "half", "an", "hour"]:
        return 30.0, i + (4 if ws[i] == "a" else 3)
    if ws[i : i + 2] == ["half", "hour"]:
        return 30.0, i + 2
    j = i + 1 if ws[i : i + 1] in (["a"], ["one"]) else i
    if ws[j : j + 1] == ["quarter"]:
        rest = ws[j + 1 : j + 4]
        if rest[:3] == ["of", "an", "hour"]:
            return 15.0, j + 4
        if rest[:1] == ["hour"]:
            return 15.0, j + 2
    if i < len(ws) and ws[i] in _SHORT or ws[i : i + 2] and ws[i] in _ONE and ws[i + 1 : i + 2] and ws[i + 1] in _SHORT:
        return None, i + (1 if ws[i] in _SHORT else 2)
    found = number_at(ws, i)
    if found is None:
        return None
    n, j = found
    half = ws[j : j + 3] == ["and", "a", "half"]
    if half:
        j += 3
    unit = ws[j] if j < len(ws) else ""
    if unit in _HOUR:
        j += 1
        if ws[j : j + 3] == ["and", "a", "half"]:
            return n * 60 + 30, j + 3
        return (n + 0.5 * half) * 60, j
    if unit in _MINUTE:
        return n + 0.5 * half, j + 1
    if unit in _SHORT:
        return None, j + 1
    if bare and ws[i] not in _ONE and 0 < n <= 180:
        return n + 0.5 * half, j
    return None

"""The last resort of the offline understanding: a line that is very close to one of
the examples in prompts/intents/examples.yaml (a request or a near miss) is taken as
that example, so an author who adds a phrasing there is understood at once.

Closeness is word by word (difflib's matching blocks over masked words: persona
names and lengths of time count as the same word), so it is exact about the words
that matter ("scratch that" vs "scratch my back") and needs no model.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable
from typing import Any

from .words import Intent

Words = tuple[str, ...]
CLOSE = 0.8  # how close a line must be to a request example
CLOSE_EVERYTHING = 0.9  # forgetting everything is the costliest mistake: closer still
MARGIN = 0.1  # ahead of the closest near miss by at least this much


class ExampleMatcher:
    def __init__(self, examples: Iterable[Any], normaliser: Any, mask: Callable[[Words], Words]) -> None:
        self._mask = mask
        self._rows: list[tuple[Words, str, Any]] = []  # masked words, original text, example
        for ex in examples:
            ws = self.prepare(normaliser.clauses(ex.text))
            if ws:
                self._rows.append((ws, ex.text, ex))

    def prepare(self, clauses: list[Words]) -> Words:
        return self._mask(tuple(w for c in clauses for w in c))

    def match(self, clauses: list[Words], *, leave_out: str | None = None) -> Intent | None:
        said = self.prepare(clauses)
        if not said:
            return None
        best: dict[bool, tuple[float, Any]] = {True: (0.0, None), False: (0.0, None)}
        matcher = difflib.SequenceMatcher(autojunk=False)
        matcher.set_seq2(said)
        for ws, text, ex in self._rows:
            if text == leave_out:
                continue
            matcher.set_seq1(ws)
            if matcher.real_quick_ratio() <= best[ex.tool is not None][0]:
                continue
            score = matcher.ratio()
            request = ex.tool is not None
            if score > best[request][0]:
                best[request] = (score, ex)
        score, ex = best[True]
        if ex is None or score < CLOSE or score < best[False][0] + MARGIN:
            return None
        if ex.arguments.get("scope") == "everything" and score < CLOSE_EVERYTHING:
            return None
        return Intent(ex.tool, dict(ex.arguments))

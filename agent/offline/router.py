"""Decides, from the user's words alone, which session tool (if any) they asked for.

The phrases live in prompts/triggers.yaml and the persona aliases in the persona
files, so prompt authors extend the router without touching Python. It errs on
the side of doing nothing: a phrase must begin the request (after polite lead-ins),
so "don't forget that", "a pirate movie" or "wait till you hear this" stay chat.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

_WORD = re.compile(r"[a-z0-9']+")
_CLAUSE = re.compile(r"[.!?;,:\n]+")
_NUMBERS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "fifteen": 15, "twenty": 20, "thirty": 30,
    "couple": 2, "few": 3,
}  # fmt: skip
_MINUTES = ("minute", "minutes", "min", "mins")
# words that may follow an alias without making it something else ("the pirate please")
_AFTER_ALIAS = {"please", "now", "again", "instead", "persona", "mode", "for", "then", "back", "voice", "one", "on"}


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


class Router:
    def __init__(self, triggers: Mapping[str, Any], aliases: Mapping[str, str]) -> None:
        """``aliases`` maps each spoken word or phrase (persona ids, names and aliases)
        to a persona id."""
        t = dict(triggers or {})
        self._lead_ins = phrases(t.get("lead_ins"))
        away, back = t.get("mark_user_away") or {}, t.get("returned") or {}
        forget, switch = t.get("forget_conversation") or {}, t.get("switch_persona") or {}
        self._away_start, self._away_alone = phrases(away.get("start")), phrases(away.get("alone"))
        self._away_minutes = phrases(away.get("with_minutes"))
        self._back_start, self._back_alone = phrases(back.get("start")), phrases(back.get("alone"))
        self._forget = {
            scope: (phrases((forget.get(scope) or {}).get("start")), phrases((forget.get(scope) or {}).get("alone")))
            for scope in ("everything", "last_turn")
        }
        self._switch_start, self._switch_fillers = phrases(switch.get("start")), set(words(" ".join(switch.get("fillers") or ())))
        self._aliases = sorted(((words(a), pid) for a, pid in aliases.items() if words(a)), key=lambda x: -len(x[0]))

    # -- public ---------------------------------------------------------------

    def route(self, text: str) -> Intent | None:
        """The tool call the user asked for, or None for ordinary conversation."""
        whole = self.strip_lead_ins(words(text))
        clauses = [self.strip_lead_ins(words(c)) for c in _CLAUSE.split(text)]
        clauses = [c for c in clauses if c]
        for scope in ("everything", "last_turn"):
            start, alone = self._forget[scope]
            if _is_one_of(whole, alone) or any(_starts_with(c, start) for c in clauses):
                return Intent("forget_conversation", {"scope": scope})
        for clause in clauses:
            minutes = self._minutes(clause)
            if minutes is not None or _starts_with(clause, self._away_start):
                return Intent("mark_user_away", {"minutes": minutes} if minutes else {})
        if _is_one_of(whole, self._away_alone):
            return Intent("mark_user_away", {})
        for clause in clauses:
            if persona := self._persona_requested(clause):
                return Intent("switch_persona", {"persona": persona})
        return None

    def is_return(self, text: str, addressed_as: Iterable[str] = ()) -> bool:
        """True when a user who stepped away is back: "I'm back", or speaking to the agent by name."""
        names = phrases(addressed_as)
        raw = [words(c) for c in _CLAUSE.split(text)]
        # with and without lead-ins: "sorry about that" is itself a return
        clauses = [c for r in raw for c in (r, self.strip_lead_ins(r)) if c]
        whole = self.strip_lead_ins(words(text))
        return _is_one_of(whole, self._back_alone) or any(
            _starts_with(c, self._back_start) or _starts_with(c, names) for c in clauses
        )

    # -- helpers --------------------------------------------------------------

    def strip_lead_ins(self, ws: tuple[str, ...]) -> tuple[str, ...]:
        changed = True
        while ws and changed:
            changed = False
            for lead in self._lead_ins:
                if ws[: len(lead)] == lead and len(ws) > len(lead):
                    ws, changed = ws[len(lead) :], True
                    break
        return ws

    def _minutes(self, clause: tuple[str, ...]) -> float | None:
        for phrase in self._away_minutes:
            if clause[: len(phrase)] != phrase:
                continue
            rest = clause[len(phrase) :]
            if rest[:1] in (("a",), ("the",)) and rest[1:2] in (("couple",), ("few",)):
                rest = rest[1:]
            if len(rest) >= 2 and rest[1] in _MINUTES or (len(rest) >= 3 and rest[1] == "of" and rest[2] in _MINUTES):
                n = rest[0]
                return float(n) if n.isdigit() and 0 < int(n) <= 600 else _NUMBERS.get(n)
        return None

    def _persona_requested(self, clause: tuple[str, ...]) -> str | None:
        for phrase in self._switch_start:
            if clause[: len(phrase)] != phrase:
                continue
            rest = list(clause[len(phrase) :])
            while rest and rest[0] in self._switch_fillers:
                rest.pop(0)
            for alias, pid in self._aliases:
                after = rest[len(alias) :]
                if tuple(rest[: len(alias)]) == alias and (not after or after[0] in _AFTER_ALIAS):
                    return pid
        return None


def _starts_with(ws: tuple[str, ...], phrases: Iterable[tuple[str, ...]]) -> bool:
    return any(p and ws[: len(p)] == p for p in phrases)


def _is_one_of(ws: tuple[str, ...], phrases: Iterable[tuple[str, ...]]) -> bool:
    return any(ws == p for p in phrases)

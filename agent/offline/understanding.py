"""The offline model's understanding: which session tool the user asked for, with
its arguments, from their words alone (typed, or as speech-to-text wrote them).

Rules over content: every phrase lives in prompts/triggers.yaml and every example in
prompts/intents/examples.yaml, so authors extend both without Python. In order:

1. the words are made regular (normalise.py: fillers, repeats, mishearings);
2. a request frame at the start of a clause ("forget ...", "can I talk to ...",
   "hang on ...") and what follows it decide: an away phrase followed by a question
   or "to explain" is talk, "forget my address" forgets what was said about it, and
   forgetting everything needs an explicit "everything" / "start over";
3. otherwise a line very close to an example (or a near miss) decides.

When in doubt it calls nothing: a wrong hold or forget costs more than a missed one,
which the user can simply say again.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from tools.arguments import MAX_AWAY_MINUTES

from .examples import ExampleMatcher
from .normalise import UNITS as _UNITS
from .normalise import Normaliser, duration_at
from .words import Intent, phrases, words

Words = tuple[str, ...]
NOTHING = Intent("")  # decided: no tool (stop looking)


class Understanding:
    def __init__(
        self,
        triggers: Mapping[str, Any],
        aliases: Mapping[str, str],
        examples: Iterable[Any] = (),
        *,
        default_persona: str = "assistant",
    ) -> None:
        """``aliases``: each spoken word or phrase (ids, names, aliases) -> persona id;
        ``examples``: prompts.examples.Example rows (the development set)."""
        t = dict(triggers or {})
        self.clean = Normaliser(t)
        self.lead_ins = phrases(t.get("lead_ins"))
        self.default_persona = default_persona
        self.tails = phrases(t.get("tails"))
        self.not_requests = phrases(t.get("not_requests"))
        self.not_before = set(words(" ".join(t.get("not_before") or ())))

        away = t.get("mark_user_away") or {}
        self.away_start = phrases(away.get("start"))
        self.away_alone = phrases(away.get("alone"))
        self.away_minutes = phrases([*(away.get("with_minutes") or ()), *(away.get("start") or ()), *(away.get("pause") or ())])
        self.pause = phrases(away.get("pause"))
        self.reasons = set(words(" ".join(away.get("reasons") or ())))
        self.talk_after = phrases(away.get("talk_after"))

        back = t.get("returned") or {}
        self.back_start = phrases(back.get("start"))
        self.back_alone = phrases(back.get("alone"))

        forget = t.get("forget_conversation") or {}
        self.forget_phrases = {s: (phrases((forget.get(s) or {}).get("start")), phrases((forget.get(s) or {}).get("alone"))) for s in ("everything", "last_turn")}
        self.forget_objects = {s: phrases((forget.get(s) or {}).get("objects")) for s in ("everything", "last_turn")}
        self.forget_verbs = phrases(forget.get("verbs"))
        self.about_verbs = phrases(forget.get("about_verbs"))
        self.said = phrases(forget.get("said"))  # "i said", "i told you": what follows the topic

        switch = t.get("switch_persona") or {}
        self.switch_start = phrases(switch.get("start"))
        self.switch_fillers = set(words(" ".join(switch.get("fillers") or ())))
        self.alias_after = set(words(" ".join(switch.get("after") or ())))
        self.to_default = phrases(switch.get("to_default"))
        self.alias_first = phrases(switch.get("alias_first"))  # "can ada take over"
        self.head_after = phrases(switch.get("head_after"))  # "pirate please"
        self.aliases = sorted(((words(a), pid) for a, pid in aliases.items() if words(a)), key=lambda x: -len(x[0]))
        self.alias_words = {" ".join(a): pid for a, pid in self.aliases}
        self.two_word = {"".join(a) for a, _ in self.aliases if len(a) == 2}

        self.examples = ExampleMatcher(examples, self.clean, self._mask)

    # -- public ---------------------------------------------------------------------------

    def route(self, text: str, *, leave_out: str | None = None) -> Intent | None:
        """The tool call the user asked for, or None for ordinary conversation.
        ``leave_out``: an example not to match against (to measure on the examples)."""
        said = self.clean.clauses(text)
        if not said or _starts(said[0], self.not_requests) is not None:
            return None
        clauses = [c for c in map(self._strip, said) if c]
        # a phrase may itself begin with a lead-in ("gotta feed the cat"): try the words as said too
        for words_ in (clauses, said) if said != clauses else (clauses,):
            for decide in (self._forget, self._switch, self._away):
                intent = decide(words_)
                if intent is not None:
                    return intent if intent.tool else None
        intent = self.examples.match(clauses, leave_out=leave_out)
        return self._with_arguments(intent, clauses) if intent else None

    def is_return(self, text: str, addressed_as: Iterable[str] = ()) -> bool:
        """True when a user who stepped away is back: "I'm back", or speaking to the agent by name."""
        said = self.clean.clauses(text)
        # with and without lead-ins: "sorry about that" is itself a return
        clauses = [c for s in said for c in (s, self._strip(s)) if c]
        whole = self._strip(tuple(w for s in said for w in s))
        starts = [*self.back_start, *phrases(addressed_as)]
        return _is_one_of(whole, self.back_alone) or any(_starts(c, starts) is not None for c in clauses)

    # -- forget -----------------------------------------------------------------------------

    def _forget(self, clauses: list[Words]) -> Intent | None:
        for c in clauses:
            if (about := self._about(c)) is not None:
                return Intent("forget_conversation", {"about": about}) if about else NOTHING
        whole = tuple(w for c in clauses for w in c)
        for scope in ("everything", "last_turn"):
            start, alone = self.forget_phrases[scope]
            for c in clauses:
                if _is_one_of(whole, alone) or self._then_tails(c, alone) or _starts(c, start) is not None:
                    return Intent("forget_conversation", {"scope": scope})
                if scope == "last_turn" and self._ends_with(c, [*alone, *start]):
                    return Intent("forget_conversation", {"scope": scope})  # "I shouldn't have said that, forget it"
        for c in clauses:
            if (rest := _starts(c, self.forget_verbs)) is None:
                continue
            rest = rest[1:] if rest[:1] == ("about",) else rest
            for scope in ("everything", "last_turn"):
                if self._then_tails(rest, self.forget_objects[scope]):
                    return Intent("forget_conversation", {"scope": scope})
        return None

    def _about(self, c: Words) -> str | None:
        """What to forget, for "forget what I said about my sister" or "forget my
        address"; "" when the words are a forget request about nothing usable."""
        rest = _starts(c, self.about_verbs)
        if rest is None:
            return None
        rest = _trim_tails(rest, self.tails)
        if "about" in rest:
            topic = rest[len(rest) - rest[::-1].index("about") :]
            if topic and not self._then_tails(topic, self.forget_objects["last_turn"]):
                return " ".join(topic) if len(topic) <= 6 else ""
            return None
        for scope in ("everything", "last_turn"):
            if self._then_tails(rest, self.forget_objects[scope]):
                return None
        if rest[:1] == ("my",) and 1 < len(rest) <= 5:
            return " ".join(rest)
        if rest[:1] == ("the",) and (cut := _find(rest, self.said)) and 1 < cut <= 4:
            return " ".join(rest[:cut])  # "the password I gave you"
        if rest[:1] in (("where",), ("when",), ("who",), ("how",)) and len(rest) <= 5 and _find(rest, self.said) is None:
            return " ".join(rest)  # "where I live"
        return None

    # -- switch -----------------------------------------------------------------------------

    def _switch(self, clauses: list[Words]) -> Intent | None:
        for c in clauses:
            if (rest := _starts(c, self.to_default)) is not None and self._alias(rest, anything_after=True):
                return Intent("switch_persona", {"persona": self.default_persona})
            for start in (self.switch_start, self.alias_first):
                if (rest := _starts(c, start)) is not None and (pid := self._alias(rest)):
                    return Intent("switch_persona", {"persona": pid})
            if pid := self._alias(c, head=True):
                return Intent("switch_persona", {"persona": pid})
        return None

    def _alias(self, ws: Words, *, anything_after: bool = False, head: bool = False) -> str | None:
        """The persona named at the start of ``ws`` (after fillers), if only allowed
        words follow it. ``head``: the alias itself opens the request ("pirate please")."""
        i = 0
        while i < len(ws) and ws[i] in self.switch_fillers:
            i += 1
        found = self._alias_at(ws, i)
        if found is None:
            return None
        pid, j = found
        while (more := self._alias_at(ws, j)) is not None and more[0] == pid:  # "professor ada"
            j = more[1]
        after = ws[j:]
        if head:
            return pid if not after or self._then_tails(after, self.head_after) else None
        if anything_after or not after or after[0] in self.alias_after:
            return pid
        return None

    def _alias_at(self, ws: Words, i: int) -> tuple[str, int] | None:
        """The persona whose name or alias starts at ``ws[i]``, and the index after it; a
        small slip counts ("the tooter", "the pie rat", "captain reid"), the longest wins."""
        exact = next(((pid, i + len(a)) for a, pid in self.aliases if ws[i : i + len(a)] == a), None)
        if exact and exact[1] - i > 1:
            return exact
        names = {a.replace(" ", ""): pid for a, pid in self.alias_words.items()}
        for n in (2, 1):
            said = "".join(ws[i : i + n])
            if i + n <= len(ws) and len(said) >= 4:
                pool = [a for a in names if abs(len(a) - len(said)) <= 2 and (not exact or n == 1 or a in self.two_word)]
                if close := difflib.get_close_matches(said, pool, n=1, cutoff=0.7):
                    return names[close[0]], i + n
            if n == 2 and exact:
                return exact
        return exact

    # -- away -------------------------------------------------------------------------------

    def _away(self, clauses: list[Words]) -> Intent | None:
        for k, c in enumerate(clauses):
            later = tuple(w for d in clauses[k + 1 :] for w in d)
            if (rest := _starts(c, self.away_start)) is not None:
                return NOTHING if self._is_talk(rest) else self._hold(c + later)
            if self._ends_with(c, self.away_start) or self._ends_with(c, self.pause) and self._has_reason(c):
                return self._hold(c + later)  # "let me grab a coffee, be right back", "my phone's ringing, hold on"
            if (rest := _starts(c, self.pause)) is not None:
                after = rest + later
                if self._is_talk(after):
                    return NOTHING  # "hold on, what did you mean?"
                if not after or self._then_tails(after, ()) or self._has_reason(after) or self._duration_first(after):
                    return self._hold(c + later)
                return NOTHING
            for phrase in self.away_minutes:
                if c[: len(phrase)] == phrase and (minutes := self._duration_first(c[len(phrase) :])):
                    return Intent("mark_user_away", {"minutes": minutes})
            if (minutes := self._duration_first(c)) and duration_at(c, 0) is not None:
                return Intent("mark_user_away", {"minutes": minutes})  # "five minutes, please"
            if k == 0 and _is_one_of(tuple(w for d in clauses for w in d), self.away_alone):
                return Intent("mark_user_away", {})
        return None

    def _hold(self, after: Words) -> Intent:
        minutes = self._minutes(after)
        return Intent("mark_user_away", {"minutes": minutes} if minutes else {})

    def _duration_first(self, ws: Words) -> float | None:
        """Minutes right at the start of ``ws`` ("five minutes", "about 10", "for half an hour")."""
        while ws[:1] in (("for",), ("about",), ("around",), ("like",), ("maybe",), ("roughly",), ("just",), ("in",)):
            ws = ws[1:]
        if not ws:
            return None
        found = duration_at(ws, 0, bare=True)
        if found is None or found[0] is None:
            return None
        minutes, end = found
        rest = ws[end:]
        bare = ws[end - 1] not in _UNITS
        if rest and (self._is_talk(rest) or not (self._then_tails(rest, ()) or (self._has_reason(rest) and not bare))):
            return None  # "give me five ideas", "I need a minute to think"
        return min(minutes, float(MAX_AWAY_MINUTES))

    def _minutes(self, ws: Words) -> float | None:
        for i in range(len(ws)):
            found = duration_at(ws, i, bare=i > 0 and ws[i - 1] in ("in", "for", "brb", "back"))
            if found is not None and found[0] is not None:
                return min(found[0], float(MAX_AWAY_MINUTES))
        return None

    def _ends_with(self, c: Words, phrases: Iterable[Words]) -> bool:
        """``c`` ends with one of ``phrases`` (then tails), said by the user to the agent:
        not "don't forget that", "he'd be right back"."""
        for i in range(1, len(c)):
            if c[i - 1] not in self.not_before and self._then_tails(c[i:], list(phrases)):
                return True
        return False

    def _has_reason(self, ws: Words) -> bool:
        return any(w in self.reasons for w in ws)

    def _is_talk(self, ws: Words) -> bool:
        return _starts(ws, self.talk_after) is not None

    # -- helpers ----------------------------------------------------------------------------

    def _strip(self, ws: Words) -> Words:
        """``ws`` without the polite lead-ins it opens with ("ok so", "sorry"), never all of it."""
        changed = True
        while ws and changed:
            changed = False
            for lead in self.lead_ins:
                if ws[: len(lead)] == lead and len(ws) > len(lead):
                    ws, changed = ws[len(lead) :], True
                    break
        return ws

    def _then_tails(self, ws: Words, phrases: Sequence[Words], also: Sequence[Words] = ()) -> bool:
        """``ws`` is one of ``phrases`` (or empty when no phrases are given), followed only by tails."""
        for p in phrases or ((),):
            if ws[: len(p)] == p and _only_tails(ws[len(p) :], [*self.tails, *also]):
                return True
        return False

    def _mask(self, ws: Words) -> Words:
        """Persona names as <persona>, lengths of time as <time>: examples match whatever the name or length."""
        out, i = [], 0
        while i < len(ws):
            if found := self._alias_exact(ws, i):
                out.append("<persona>")
                i = found
            elif (d := duration_at(ws, i, bare=i > 0 and ws[i - 1] in ("in", "for", "brb", "back"))) and d[0] is not None:
                out.append("<time>")
                i = d[1]
            else:
                out.append(ws[i])
                i += 1
        return tuple(out)

    def _alias_exact(self, ws: Words, i: int) -> int | None:
        return next((i + len(a) for a, _ in self.aliases if ws[i : i + len(a)] == a), None)

    def _with_arguments(self, intent: Intent, clauses: list[Words]) -> Intent | None:
        """An example matched: its tool, with the arguments read from these words."""
        whole = tuple(w for c in clauses for w in c)
        if intent.tool == "switch_persona":
            pid = next((p for i in range(len(whole)) if (f := self._alias_at(whole, i)) for p in [f[0]]), None)
            return Intent(intent.tool, {"persona": pid}) if pid else None
        if intent.tool == "mark_user_away":
            return self._hold(whole)
        if intent.tool == "forget_conversation":
            if intent.arguments.get("about"):
                return None  # what to forget must be read from the words, never guessed
            return intent
        return intent


def _starts(ws: Words, phrases: Iterable[Words]) -> Words | None:
    """What follows the longest of ``phrases`` that ``ws`` starts with."""
    for p in phrases:
        if p and ws[: len(p)] == p:
            return ws[len(p) :]
    return None


def _is_one_of(ws: Words, phrases: Iterable[Words]) -> bool:
    return any(ws == p for p in phrases)


def _only_tails(ws: Words, tails: Sequence[Words]) -> bool:
    while ws:
        for t in tails:
            if t and ws[: len(t)] == t:
                ws = ws[len(t) :]
                break
        else:
            return False
    return True


def _trim_tails(ws: Words, tails: Sequence[Words]) -> Words:
    changed = True
    while ws and changed:
        changed = False
        for t in tails:
            if t and len(ws) > len(t) and ws[-len(t) :] == t:
                ws, changed = ws[: -len(t)], True
                break
    return ws


def _find(ws: Words, phrases: Iterable[Words]) -> int | None:
    for i in range(len(ws)):
        if any(p and ws[i : i + len(p)] == p for p in phrases):
            return i
    return None

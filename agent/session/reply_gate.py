"""The gate in front of a realtime model's own replies while the user is away.

A realtime model answers speech on its own, past ``llm_node`` (where may_reply judges
every other model's turns): while a requested hold runs, each reply it starts on its
own is stopped here, and the user's words are judged (by the away hold) as soon as
their final transcript comes. Words that end the hold get exactly one answer: the
model's own where they were judged before it started it, else one asked for anew
once the reply held back for them turns out to be allowed.

Where the model also answers a tool result on its own (its capabilities say
``auto_tool_reply_generation``), the reply to the ``mark_user_away`` call itself (the
acknowledgement) is let through: the first reply the model starts after that call's
output went out, as long as the user said nothing in between; a reply that turns out to
answer the user's words is stopped.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, Protocol

from livekit.agents import AgentSession
from livekit.agents.voice import SpeechHandle


class Hold(Protocol):
    """What the gate asks of the away hold (AwayHold)."""

    @property
    def requested(self) -> bool:
        """A requested hold runs: the model's own replies are held back."""
        ...

    def allows_reply(self, words: str) -> bool:
        """Judge the user's words: False for side-talk (a return or a request ends the hold)."""
        ...

    def turn_transcribed(self) -> None:
        """The user's turn is transcribed in full: none of its words await judgement."""
        ...

    def use_gate(self, gate: RealtimeReplyGate) -> None:
        """Tell ``gate`` when a hold starts and ends."""
        ...


# -- the acknowledgement of mark_user_away: one state, None when no acknowledgement is due --------


@dataclass(frozen=True)
class _AwaitingOutput:
    """The call runs: its output has not gone to the model yet."""

    call_id: str


@dataclass(frozen=True)
class _Open:
    """The call's output went to the model: the next reply it starts is the acknowledgement."""


@dataclass(frozen=True)
class _LetThrough:
    """The reply let through as the acknowledgement (stopped if it turns out to answer the user)."""

    speech: SpeechHandle


_Ack = _AwaitingOutput | _Open | _LetThrough | None


class _Words(enum.Enum):
    """Where the user's newest words stand while a requested hold runs."""

    UNJUDGED = "unjudged"  # not judged yet (or none heard since the hold began)
    HELD_BACK = "held_back"  # not judged yet, and a reply the model started to them was stopped
    # judged, and no new turn began since: a reply the model starts now answers them (a model
    # may send the final transcript before its reply)
    JUDGED = "judged"


class RealtimeReplyGate:
    def __init__(self, hold: Hold, session: AgentSession) -> None:
        self._hold = hold
        self._session = session
        self._ack: _Ack = None  # the acknowledgement of the mark_user_away call, where one is due
        self._words = _Words.UNJUDGED  # the user's newest words
        self._judged: set[str] = set()  # ids of user items whose final transcript was judged here

    def attach(self) -> None:
        self._hold.use_gate(self)
        self._session.on("user_state_changed", self._on_user_state_changed)
        self._session.on("user_input_transcribed", self._on_transcript)
        self._session.on("conversation_item_added", self._on_item_added)
        self._session.on("speech_created", self._on_speech_created)
        self._session.on("function_tools_executed", self._on_tools_executed)

    # -- what the hold tells the gate (AwayHold's ReplyGate) --------------------------------------

    def hold_started(self, call_id: str | None) -> None:
        self.hold_ended()  # a new hold: the user's turn starts afresh
        if call_id is not None and self._model_replies_to_tools():
            self._ack = _AwaitingOutput(call_id)

    def hold_ended(self) -> None:
        self._ack, self._words = None, _Words.UNJUDGED
        self._judged.clear()

    @property
    def holds_back_a_reply(self) -> bool:
        return self._words is _Words.HELD_BACK

    # -- the user's words -------------------------------------------------------------------------

    def _on_user_state_changed(self, ev: Any) -> None:
        if ev.new_state == "speaking" and self._hold.requested:
            self._new_turn()

    def _on_transcript(self, ev: Any) -> None:
        if not self._hold.requested:
            return
        words = (ev.transcript or "").strip()
        if words:
            self._words_heard()
        if ev.is_final:
            self._judge_turn(words, ev.item_id)

    def _new_turn(self) -> None:
        """A new turn began: its words are not known yet."""
        if self._words is _Words.JUDGED:
            self._words = _Words.UNJUDGED

    def _words_heard(self) -> None:
        """Words came: a reply now may answer them rather than the tool."""
        self._new_turn()
        match self._ack:
            case _Open():
                self._ack = None  # words came first: the next reply may answer them
            case _LetThrough(speech) if not speech.done():
                speech.interrupt(force=True)  # it was answering the user, not the tool
                self._words = _Words.HELD_BACK

    def _judge_turn(self, words: str, item_id: str | None) -> None:
        """The turn's final transcript: judge its words; ask for the answer held back for them."""
        if item_id:
            self._judged.add(item_id)
        held_back = self._words is _Words.HELD_BACK
        self._hold.turn_transcribed()
        self._words = _Words.JUDGED if words else _Words.UNJUDGED
        if words and self._hold.allows_reply(words) and held_back:
            # the model's own answer was held back while the words were unknown: answer now.
            # (words judged before the model started its answer let that answer through)
            self._session.generate_reply()

    def _on_item_added(self, ev: Any) -> None:
        item = ev.item
        if not self._hold.requested or getattr(item, "role", None) != "user" or item.id in self._judged:
            return
        # a typed turn: its reply is already on its way
        self._judged.add(item.id)
        if not self._hold.allows_reply(item.text_content or ""):
            self._stop_typed_reply()

    def _stop_typed_reply(self) -> None:
        speech = self._session.current_speech
        if speech is not None and not self._is_ack(speech) and speech.input_details.modality == "text":
            speech.interrupt(force=True)

    # -- the model's replies ----------------------------------------------------------------------

    def _on_tools_executed(self, ev: Any) -> None:
        ack = self._ack
        if isinstance(ack, _AwaitingOutput) and self._hold.requested:
            if any(call.call_id == ack.call_id for call in ev.function_calls):
                self._ack = _Open()

    def _on_speech_created(self, ev: Any) -> None:
        if not self._hold.requested or ev.user_initiated:
            return
        if isinstance(self._ack, _Open):
            self._ack = _LetThrough(ev.speech_handle)  # the model's reply to the call's output
            return
        ev.speech_handle.interrupt(force=True)
        if self._words is _Words.UNJUDGED:
            # (a reply to words already judged side-talk needs no second try once they come back)
            self._words = _Words.HELD_BACK

    def _is_ack(self, speech: SpeechHandle) -> bool:
        return isinstance(self._ack, _LetThrough) and self._ack.speech is speech

    def _model_replies_to_tools(self) -> bool:
        model = self._session.current_agent.llm
        return bool(getattr(getattr(model, "capabilities", None), "auto_tool_reply_generation", False))

"""The user's away hold: silence while they are gone, one check-in, then a goodbye.

A hold starts when the model calls ``mark_user_away`` (requested) or when
livekit's ``user_away_timeout`` fires (noticed). Either way the session's user
state is "away", as every LiveKit listener expects.

- A requested hold lasts the minutes asked for. Side-talk gets no reply; "I'm
  back", the persona's name, or a request for a session change ("talk to the
  pirate") ends it, and that turn gets exactly one answer (to a return that also
  asks for something, "I'm back, can I talk to the pirate", the request's answer).
- A noticed hold checks in at once and ends as soon as the user says anything;
  their words get an ordinary reply.
- The check-in and the goodbye wait while the user is in the middle of a turn,
  never outlive the hold (a return stops a check-in still queued or playing),
  and never outlive the session.

A realtime model answers speech on its own, past ``llm_node``: its replies are
held back here while a requested hold runs. Where it also answers a tool result
on its own (its capabilities say ``auto_tool_reply_generation``), the reply to the
``mark_user_away`` call itself (the acknowledgement) is let through: the first
reply the model starts after that call's output went out, as long as the user
said nothing in between; a reply that turns out to answer the user's words is
stopped.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, Protocol

from livekit.agents import AgentSession

import prompts

from . import lk_private
from .model_source import RequestReader


class HoldHost(Protocol):
    """What the hold needs from the session controller."""

    library: prompts.PromptLibrary
    persona_id: str

    def router(self) -> RequestReader: ...

    def line(self, name: str, persona_id: str | None = None, **extra: Any) -> str: ...

    def speak(self, text: str) -> Any: ...

    def require_session(self) -> AgentSession: ...


@dataclass
class AwayPolicy:
    """How long a hold lasts before the check-in, and before the goodbye."""

    default_hold_minutes: float = 3.0
    goodbye_after_minutes: float = 2.0
    retry_minutes: float = 0.1  # a check-in or goodbye due mid-turn waits this long, then looks again
    seconds_per_minute: float = 60.0  # tests shrink time here, not in the tools


@dataclass
class _Hold:
    requested: bool
    reason: str | None = None  # why the user stepped away, if they said (lines/away_checkin gets it)
    timer: asyncio.TimerHandle | None = None
    checked_in: bool = False
    check_in: Any = None  # the check-in's SpeechHandle
    waited_for_words: bool = False  # a check-in or goodbye already waited once for unjudged words


class AwayHold:
    def __init__(self, ctl: HoldHost, policy: AwayPolicy) -> None:
        self.ctl = ctl
        self.policy = policy
        self._hold: _Hold | None = None
        self._realtime = False
        self._closed = False
        # the acknowledgement on a model that answers tool results itself (auto_tool_reply_generation)
        self._ack_call: str | None = None  # the mark_user_away call whose own reply is due
        self._ack_open = False  # that call's output went to the model; its reply may start
        self._ack_speech: Any = None  # the reply let through as the acknowledgement
        # the user's turn under way while a requested hold runs
        self._hearing = False  # words transcribed, not yet judged
        self._held_back = False  # a realtime model's reply to words not yet judged was stopped
        # the newest words were judged and no new turn began since: a reply the model starts
        # now answers them (a model may send the final transcript before its reply)
        self._words_judged = False
        self._judged: set[str] = set()  # ids of user items a realtime model's transcript judged
        # the welcome: due only to the turn that came back from a requested hold
        self._turn: str | None = None  # id of the newest user turn judged in may_reply (not realtime)
        self._welcome_turn: str | None = None

    @property
    def active(self) -> bool:
        return self._hold is not None

    @property
    def requested(self) -> bool:
        return self._hold is not None and self._hold.requested

    @property
    def timer_pending(self) -> bool:
        """Whether a check-in or goodbye is scheduled."""
        hold = self._hold
        return hold is not None and hold.timer is not None and not hold.timer.cancelled()

    def attach(self, session: AgentSession, *, realtime: bool) -> None:
        self._realtime = realtime
        self._closed = False
        lk_private.route_user_state(session, self._keep_away)
        session.on("user_state_changed", self._on_user_state_changed)
        session.on("user_input_transcribed", self._on_transcript)
        session.on("conversation_item_added", self._on_item_added)
        session.on("close", self._on_close)
        if realtime:
            session.on("speech_created", self._on_realtime_speech)
            session.on("function_tools_executed", self._on_tools_executed)

    # -- starting and ending ----------------------------------------------------------------

    def start(self, *, requested: bool, minutes: float | None, reason: str | None = None, call_id: str | None = None) -> None:
        """``call_id``: the ``mark_user_away`` call that asked for the hold (its reply is
        the acknowledgement). ``reason``: why, if the user said; a hold extended without
        one ("five more minutes") keeps the reason given before."""
        if self._closed:
            return
        previous = self._hold
        self._stop(previous)
        self._hold = hold = _Hold(requested=requested, reason=reason or (previous.reason if previous else None))
        self._reset_turn_state()
        self._welcome_turn = None
        if not requested:
            self._check_in()
            return
        if call_id is not None and self._model_replies_to_tools():
            self._ack_call = call_id
        lk_private.mark_user_away(self._session())
        hold_minutes = minutes or self.policy.default_hold_minutes
        self._arm(hold, hold_minutes, self._check_in)

    def end(self) -> None:
        """The user is back: no check-in or goodbye follows, and one still queued or
        playing stops."""
        hold, self._hold = self._hold, None
        self._stop(hold)
        self._reset_turn_state()
        session = self._session()
        if session.user_state == "away":
            lk_private.mark_user_present(session)

    # -- judging the user's words -------------------------------------------------------------

    def allows_reply(self, words: str, *, turn: str | None = None) -> bool:
        """Whether the user's words get a reply: always, unless a requested hold runs
        and they are side-talk; then the hold stays, and so does the away state a
        frontend shows. ``turn``: the user message's id, where may_reply judges it (not realtime)."""
        if turn != self._turn:
            self._turn, self._welcome_turn = turn, None  # a welcome never carries to another turn
        hold = self._hold
        if hold is None:
            return True
        self._hearing = False
        if not hold.requested:
            self.end()  # the user spoke: a noticed hold is over, and their words get a reply
            return True
        persona = self.ctl.library.persona(self.ctl.persona_id)
        router = self.ctl.router()
        request = getattr(router.route(words), "tool", None)
        if router.is_return(words, addressed_as=(persona.name, *persona.aliases)):
            self.end()
            # "I'm back, can I talk to the pirate": the request's answer is the welcome
            self._welcome_turn = None if request else turn
            return True
        if request == "mark_user_away":
            return True  # "give me five more minutes": the tool extends the hold, silently
        if request is not None:
            self.end()  # "talk to the pirate" while away: the user is back, and it is done
            return True
        lk_private.mark_user_away(self._session())
        return False

    def take_welcome(self) -> bool:
        """Whether this reply welcomes the user back: true once, and only while
        replying to the turn that ended a requested hold."""
        due, self._welcome_turn = self._welcome_turn is not None, None
        return due

    # -- check-in and goodbye ---------------------------------------------------------------------

    def _check_in(self) -> None:
        hold = self._hold
        if self._closed or hold is None or hold.checked_in:
            return
        if self._user_mid_turn(hold):
            self._arm(hold, self.policy.retry_minutes, self._check_in)
            return
        hold.checked_in = True
        hold.check_in = self.ctl.speak(self.ctl.line("lines/away_checkin", requested=hold.requested, reason=hold.reason))
        self._arm(hold, self.policy.goodbye_after_minutes, self._say_goodbye)

    def _say_goodbye(self) -> None:
        hold = self._hold
        if self._closed or hold is None:
            return
        if self._user_mid_turn(hold):
            self._arm(hold, self.policy.retry_minutes, self._say_goodbye)
            return
        self._hold = None
        self._reset_turn_state()
        self._welcome_turn = None
        session = self._session()
        handle = self.ctl.speak(self.ctl.line("lines/away_goodbye"))
        handle.add_done_callback(lambda _: self._closed or session.shutdown())

    def _user_mid_turn(self, hold: _Hold) -> bool:
        """The user is speaking, or words of theirs await judgement (once per hold: a
        turn that never gets a final transcript must not hold the check-in off)."""
        if self._session().user_state == "speaking":
            return True
        if (self._hearing or self._held_back) and not hold.waited_for_words:
            hold.waited_for_words = True
            return True
        return False

    def _arm(self, hold: _Hold, minutes: float, callback: Any) -> None:
        if hold.timer is not None:
            hold.timer.cancel()
        delay = minutes * self.policy.seconds_per_minute
        hold.timer = asyncio.get_running_loop().call_later(delay, callback)

    def _stop(self, hold: _Hold | None) -> None:
        if hold is None:
            return
        if hold.timer is not None:
            hold.timer.cancel()
        if hold.check_in is not None and not hold.check_in.done():
            hold.check_in.interrupt(force=True)

    def _reset_turn_state(self) -> None:
        self._ack_call, self._ack_open, self._ack_speech = None, False, None
        self._held_back = self._hearing = self._words_judged = False
        self._judged.clear()

    # -- session events -------------------------------------------------------------------------

    def _on_close(self, _: Any) -> None:
        self._closed = True
        hold, self._hold = self._hold, None
        if hold is not None and hold.timer is not None:
            hold.timer.cancel()
        self._reset_turn_state()
        self._welcome_turn = None

    def _on_user_state_changed(self, ev: Any) -> None:
        hold = self._hold
        if ev.new_state == "away":
            if hold is None and not self._closed:
                # livekit's user_away_timeout fired: one check-in, then a goodbye
                self.start(requested=False, minutes=None)
        elif hold is None:
            return
        elif ev.new_state == "speaking" and not hold.requested:
            self.end()  # the user speaks: a noticed hold is over
        elif ev.new_state == "speaking":
            self._words_judged = False  # a new turn: its words are not known yet

    def _keep_away(self, state: str) -> str:
        # livekit says "listening" when side-talk or a realtime model's own turn ends (a model
        # may end every one of its turns so): the user is still away while a hold runs. Words that
        # end the hold arrive as a transcript or a user turn, and end() lets "listening" through.
        return "away" if state == "listening" and self.active else state

    def _on_transcript(self, ev: Any) -> None:
        hold = self._hold
        if hold is None:
            return
        words = (ev.transcript or "").strip()
        if not hold.requested:
            if words:
                self.end()  # the user speaks: a noticed hold is over
            return
        if words:
            self._hearing, self._words_judged = True, False
            self._ack_open = False  # words came first: the next reply may answer them
            ack = self._ack_speech
            if ack is not None and not ack.done():
                ack.interrupt(force=True)  # it was answering the user, not the tool
                self._held_back = True
        if not self._realtime or not ev.is_final:
            return  # not realtime: may_reply judges the whole turn
        if ev.item_id:
            self._judged.add(ev.item_id)
        held_back, self._held_back, self._hearing = self._held_back, False, False
        self._words_judged = bool(words)
        if words and self.allows_reply(words) and held_back:
            # the model's own answer was held back while the words were unknown: answer now.
            # (words judged before the model started its answer let that answer through)
            self._session().generate_reply()

    def _on_item_added(self, ev: Any) -> None:
        item, hold = ev.item, self._hold
        if hold is None or getattr(item, "role", None) != "user":
            return
        if not hold.requested:
            self.end()  # a user turn arrived (typed: no VAD, no transcript): a noticed hold is over
            return
        if not self._realtime or item.id in self._judged:
            return
        # a typed turn on a realtime model: its reply is already on its way
        self._judged.add(item.id)
        if not self.allows_reply(item.text_content or ""):
            speech = self._session().current_speech
            if speech is not None and speech is not self._ack_speech and speech.input_details.modality == "text":
                speech.interrupt(force=True)

    def _on_tools_executed(self, ev: Any) -> None:
        if self._ack_call is not None and self.requested:
            if any(call.call_id == self._ack_call for call in ev.function_calls):
                self._ack_call, self._ack_open = None, True

    def _on_realtime_speech(self, ev: Any) -> None:
        if not self.requested or ev.user_initiated:
            return
        if self._ack_open:
            # the model's reply to the mark_user_away call's output: the acknowledgement
            self._ack_open, self._ack_speech = False, ev.speech_handle
            return
        ev.speech_handle.interrupt(force=True)
        # a reply to words already judged side-talk needs no second try once they come back
        self._held_back = self._held_back or not self._words_judged

    # -- helpers ------------------------------------------------------------------------------------

    def _model_replies_to_tools(self) -> bool:
        model = self._session().current_agent.llm
        return bool(getattr(getattr(model, "capabilities", None), "auto_tool_reply_generation", False))

    def _session(self) -> AgentSession:
        return self.ctl.require_session()

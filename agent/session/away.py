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

The hold judges the user's words (``allows_reply``): may_reply asks it for every
turn that reaches ``llm_node``. A realtime model answers speech on its own, past
``llm_node``: a ``ReplyGate`` (reply_gate.py, attached for realtime models only)
holds its replies back while a requested hold runs, and asks the hold to judge
the words as they come. The hold tells that gate when a hold starts and ends.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
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


class ReplyGate(Protocol):
    """A gate in front of the replies a model starts on its own (reply_gate.py): what
    the hold tells it, and the one thing the hold asks of it."""

    def hold_started(self, call_id: str | None) -> None:
        """A hold began; ``call_id``: the ``mark_user_away`` call that asked for it."""
        ...

    def hold_ended(self) -> None: ...

    @property
    def holds_back_a_reply(self) -> bool:
        """A reply to words not judged yet was stopped: the user's turn is not over."""
        ...


class _NoGate:
    """A model whose every reply goes through ``llm_node``, where may_reply judges the turn."""

    holds_back_a_reply = False

    def hold_started(self, call_id: str | None) -> None:
        pass

    def hold_ended(self) -> None:
        pass


_NO_GATE = _NoGate()


@dataclass
class AwayPolicy:
    """How long a hold lasts before the check-in, and before the goodbye."""

    default_hold_minutes: float = 3.0
    goodbye_after_minutes: float = 2.0
    retry_minutes: float = 0.1  # a check-in or goodbye due mid-turn waits this long, then looks again
    seconds_per_minute: float = 60.0  # tests shrink time here, not in the tools


@dataclass
class _Hold:
    """One hold, from its start to the user's return, the goodbye or the session's close."""

    requested: bool  # asked for (mark_user_away), else noticed (livekit's away timer)
    reason: str | None = None  # why the user stepped away, if they said (the away lines get it)
    timer: asyncio.TimerHandle | None = None  # the check-in's or the goodbye's, whichever is due next
    checked_in: bool = False  # the check-in was said: the goodbye is next
    check_in: Any = None  # the check-in's SpeechHandle (a return stops it)
    hearing: bool = False  # words of the user's turn transcribed, not judged yet (a requested hold)
    waited_for_words: bool = False  # a check-in or goodbye already waited once for unjudged words


class AwayHold:
    def __init__(self, ctl: HoldHost, policy: AwayPolicy) -> None:
        self.ctl = ctl
        self.policy = policy
        self._hold: _Hold | None = None  # the hold under way
        self._closed = False  # the session closed: no hold starts, nothing more is said
        # the user turn (may_reply's id) that came back from a requested hold: the welcome is
        # due to it alone, and never carries to another turn
        self._welcome_turn: str | None = None
        self._gate: ReplyGate = _NO_GATE  # told when a hold starts and ends (a realtime model's)

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

    def attach(self, session: AgentSession) -> None:
        self._closed = False
        self._gate = _NO_GATE  # a realtime model's gate attaches after the hold (use_gate)
        lk_private.route_user_state(session, self._keep_away)
        session.on("user_state_changed", self._on_user_state_changed)
        session.on("user_input_transcribed", self._on_transcript)
        session.on("conversation_item_added", self._on_item_added)
        session.on("close", self._on_close)

    def use_gate(self, gate: ReplyGate) -> None:
        """Tell ``gate`` when a hold starts and ends, and ask it whether the user's turn is over."""
        self._gate = gate

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
        self._gate.hold_started(call_id if requested else None)
        self._welcome_turn = None
        if not requested:
            self._check_in()
            return
        lk_private.mark_user_away(self._session())
        self._arm(hold, minutes or self.policy.default_hold_minutes, self._check_in)

    def end(self) -> None:
        """The user is back: no check-in or goodbye follows, and one still queued or
        playing stops."""
        hold, self._hold = self._hold, None
        self._stop(hold)
        self._gate.hold_ended()
        session = self._session()
        if session.user_state == "away":
            lk_private.mark_user_present(session)

    def forget_reason(self) -> None:
        """A forget took place: the reason came from the user's words, so no copy stays."""
        if self._hold is not None:
            self._hold.reason = None

    # -- judging the user's words -------------------------------------------------------------

    def allows_reply(self, words: str, *, turn: str | None = None) -> bool:
        """Whether the user's words get a reply: always, unless a requested hold runs
        and they are side-talk; then the hold stays, and so does the away state a
        frontend shows. ``turn``: the user message's id, where may_reply judges it (not realtime)."""
        if turn != self._welcome_turn:
            self._welcome_turn = None  # a welcome never carries to another turn
        hold = self._hold
        if hold is None:
            return True
        hold.hearing = False
        if not hold.requested:
            self.end()  # the user spoke: a noticed hold is over, and their words get a reply
            return True
        return self._judge(words, turn)

    def _judge(self, words: str, turn: str | None) -> bool:
        """Words heard while a requested hold runs: a return or a request ends it, side-talk keeps it."""
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

    def turn_transcribed(self) -> None:
        """The user's turn is transcribed in full (a realtime model's final transcript, judged
        at once): none of its words await judgement, whether or not there were any."""
        if self._hold is not None:
            self._hold.hearing = False

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
        self._gate.hold_ended()
        self._welcome_turn = None
        session = self._session()
        handle = self.ctl.speak(self.ctl.line("lines/away_goodbye"))
        handle.add_done_callback(lambda _: self._closed or session.shutdown())

    def _user_mid_turn(self, hold: _Hold) -> bool:
        """The user is speaking, or words of theirs await judgement (once per hold: a
        turn that never gets a final transcript must not hold the check-in off)."""
        if self._session().user_state == "speaking":
            return True
        if (hold.hearing or self._gate.holds_back_a_reply) and not hold.waited_for_words:
            hold.waited_for_words = True
            return True
        return False

    def _arm(self, hold: _Hold, minutes: float, callback: Callable[[], None]) -> None:
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

    # -- session events -------------------------------------------------------------------------

    def _on_close(self, _: Any) -> None:
        self._closed = True
        hold, self._hold = self._hold, None
        if hold is not None and hold.timer is not None:
            hold.timer.cancel()
        self._gate.hold_ended()
        self._welcome_turn = None

    def _on_user_state_changed(self, ev: Any) -> None:
        hold = self._hold
        if ev.new_state == "away":
            if hold is None and not self._closed:
                # livekit's user_away_timeout fired: one check-in, then a goodbye
                self.start(requested=False, minutes=None)
        elif hold is not None and ev.new_state == "speaking" and not hold.requested:
            self.end()  # the user speaks: a noticed hold is over

    def _keep_away(self, state: str) -> str:
        # livekit says "listening" when side-talk or a realtime model's own turn ends (a model
        # may end every one of its turns so): the user is still away while a hold runs. Words that
        # end the hold arrive as a transcript or a user turn, and end() lets "listening" through.
        return "away" if state == "listening" and self.active else state

    def _on_transcript(self, ev: Any) -> None:
        hold = self._hold
        if hold is None or not (ev.transcript or "").strip():
            return
        if hold.requested:
            hold.hearing = True  # judged when the turn ends (may_reply), or by the gate
        else:
            self.end()  # the user speaks: a noticed hold is over

    def _on_item_added(self, ev: Any) -> None:
        hold = self._hold
        if hold is not None and not hold.requested and getattr(ev.item, "role", None) == "user":
            self.end()  # a user turn arrived (typed: no VAD, no transcript): a noticed hold is over

    # -- helpers ------------------------------------------------------------------------------------

    def _session(self) -> AgentSession:
        return self.ctl.require_session()

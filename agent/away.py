"""The user's away hold: silence while they are gone, one check-in, then a goodbye.

A hold starts when the model calls ``mark_user_away`` (requested) or when
livekit's ``user_away_timeout`` fires (noticed). Either way the session's user
state is "away", as every LiveKit listener expects. While a requested hold runs,
side-talk gets no reply; "I'm back", or the persona's name, ends it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from livekit.agents import AgentSession

from . import lk_private

if TYPE_CHECKING:
    from .control import SessionController


@dataclass
class AwayPolicy:
    """How long a hold lasts before the check-in, and before the goodbye."""

    default_hold_minutes: float = 3.0
    goodbye_after_minutes: float = 2.0
    seconds_per_minute: float = 60.0  # tests shrink time here, not in the tools


@dataclass
class _Hold:
    requested: bool
    timer: asyncio.TimerHandle | None = None
    checked_in: bool = False


class AwayHold:
    def __init__(self, ctl: SessionController, policy: AwayPolicy) -> None:
        self.ctl = ctl
        self.policy = policy
        self._hold: _Hold | None = None
        self._let_through = 0  # realtime replies still due before the silence (the tool's own)
        self._welcome_due = False  # the user just came back from a requested hold

    @property
    def active(self) -> bool:
        return self._hold is not None

    @property
    def requested(self) -> bool:
        return self._hold is not None and self._hold.requested

    def attach(self, session: AgentSession, *, realtime: bool) -> None:
        session.on("user_state_changed", self._on_user_state_changed)
        if realtime:
            # a realtime model answers speech on its own, past llm_node: hold its replies here
            session.on("speech_created", self._on_realtime_speech)
            session.on("user_input_transcribed", self._on_realtime_transcript)

    def start(self, *, requested: bool, minutes: float | None) -> None:
        self._cancel_timer()
        self._hold = _Hold(requested=requested)
        if requested:
            # a model that answers a tool result on its own (Gemini) still owes the acknowledgement
            model = self._session().current_agent.llm
            self._let_through = int(getattr(getattr(model, "capabilities", None), "auto_tool_reply_generation", False))
            lk_private.mark_user_away(self._session())
            delay = (minutes or self.policy.default_hold_minutes) * self.policy.seconds_per_minute
            self._hold.timer = asyncio.get_running_loop().call_later(delay, self._check_in)
        else:
            self._check_in()

    def end(self) -> None:
        self._cancel_timer()
        self._hold = None
        session = self._session()
        if session.user_state == "away":
            lk_private.mark_user_present(session)

    def allows_reply(self, words: str) -> bool:
        """Whether the user's words get a reply: always, unless a hold runs and they
        are side-talk; then the hold stays, and so does the away state a frontend shows."""
        if self._hold is None:
            return True
        persona = self.ctl.library.persona(self.ctl.persona_id)
        if self.ctl.router().is_return(words, addressed_as=(persona.name, *persona.aliases)):
            self._welcome_due = self.requested
            self.end()
            return True
        lk_private.mark_user_away(self._session())
        return False

    def take_welcome(self) -> bool:
        """Whether this reply welcomes the user back (true once per return)."""
        due, self._welcome_due = self._welcome_due, False
        return due

    def _check_in(self) -> None:
        hold = self._hold
        if hold is None or hold.checked_in:
            return
        hold.checked_in = True
        self.ctl.speak(self.ctl.render("lines/away_checkin", requested=hold.requested))
        delay = self.policy.goodbye_after_minutes * self.policy.seconds_per_minute
        hold.timer = asyncio.get_running_loop().call_later(delay, self._say_goodbye)

    def _say_goodbye(self) -> None:
        if self._hold is None:
            return
        self._hold = None
        handle = self.ctl.speak(self.ctl.render("lines/away_goodbye"))
        handle.add_done_callback(lambda _: self._session().shutdown())

    def _cancel_timer(self) -> None:
        if self._hold is not None and self._hold.timer is not None:
            self._hold.timer.cancel()

    def _on_user_state_changed(self, ev: Any) -> None:
        if ev.new_state == "away" and self._hold is None:
            # livekit's user_away_timeout fired: one check-in, then a goodbye
            self.start(requested=False, minutes=None)
        elif ev.new_state == "speaking" and self._hold is not None and not self._hold.requested:
            self.end()
        elif ev.new_state == "listening" and self.requested:
            # side-talk, or a realtime model's own turn, passed: the user is still away
            asyncio.get_running_loop().call_soon(self._reassert_away)

    def _reassert_away(self) -> None:
        if self.requested and self._session().user_state == "listening":
            lk_private.mark_user_away(self._session())

    def _on_realtime_speech(self, ev: Any) -> None:
        if not self.requested or ev.user_initiated:
            return
        if self._let_through:
            self._let_through -= 1
        else:
            ev.speech_handle.interrupt(force=True)

    def _on_realtime_transcript(self, ev: Any) -> None:
        if ev.is_final and self.requested and self.allows_reply(ev.transcript):
            self._session().generate_reply()

    def _session(self) -> AgentSession:
        return self.ctl.require_session()

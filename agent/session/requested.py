"""Changes requested outside a model's reply: a frontend's RPC, the chat's ``/persona``.

They go through the same cores as the tools (control.py). No reply carries them, so
each waits until the agent is between replies (a reply's tool takes the same lock),
is made, and is then announced by the agent from the same line templates. A hand-off
is waited for, so the outcome says whether it really happened. Requested changes run
one at a time, start to end; a hand-off still under way (the model's) finishes first.

A part of ``SessionController`` kept apart (a base class of it): it works on the
controller's own state with the controller's own helpers.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import replace

from livekit.agents.llm import ToolError
from livekit.agents.voice.agent_activity import ActivityClosedError

from tools import Outcome

from .hand_off import HandOff


class RequestedChanges:
    """The controller's entry points for requested changes (``SessionController`` sets up
    ``_requested``; the rest is its own state and helpers)."""

    async def request_switch_persona(self, persona: str) -> Outcome:
        async with self._requested:
            async with self._between_replies():
                outcome, hand_off, old_tts = await self._switch(persona, call_id=None)
                if outcome.status == "unchanged":
                    return replace(outcome, say="")
                if hand_off is None:
                    speech = self.speak(outcome.say)
                    if old_tts is not None:
                        self._after(speech, self.provider.release(old_tts))
                    return outcome
                self._begin_hand_off(hand_off)
            await self._entered_or_undone(hand_off, f"the switch to {outcome.subject}")
            return outcome

    async def request_forget(self, scope: str) -> Outcome:
        """``last_turn``: the user's last turn and the reply to it (no request of theirs
        follows it in the conversation, so the rule's "turn before the request" is that one)."""
        async with self._requested:
            async with self._between_replies():
                plan = self._plan_forget(scope, None, set(), about=None)
                if isinstance(plan, Outcome):
                    return replace(plan, say="")
                if not self.strategy.forget_hands_off:
                    refusals = await self._forget_in_place(scope, None, set())
                    line = self.line("lines/forget_incomplete", scope=scope) if refusals else plan.line
                    self.speak(line)
                    return Outcome("incomplete" if refusals else "forgotten", plan.subject, say=line)
                self._one_change_at_a_time("forgetting", hand_off=True)
                applied = self.strategy.forget(self, plan.kept, plan.line)
                # the fresh session starts without the forgotten part; the history follows once it took over
                hand_off = self._hand_off_for(applied.handoff, plan.context, lambda: self._scrub_history(scope, None, set()))
                self._begin_hand_off(hand_off)
            await self._entered_or_undone(hand_off, "forgetting")
            return Outcome("forgotten", plan.subject, say=plan.line, notes=applied.notes)

    async def request_mark_away(self, minutes: float | None, *, reason: str | None = None) -> Outcome:
        async with self._requested:
            async with self._between_replies():
                outcome = self._mark_away(minutes, reason=reason)
                if outcome.say:
                    self.speak(outcome.say)
                return outcome

    async def request_mark_back(self) -> Outcome:
        async with self._requested:
            async with self._between_replies():
                if not self.away.active:
                    return Outcome("not_away")
                self.away.end()
                line = self.line("lines/welcome_back")
                self.speak(line)
                return Outcome("back", say=line)

    @contextlib.asynccontextmanager
    async def _between_replies(self) -> AsyncIterator[None]:
        """Hold the change lock at a moment no reply is under way and no deferred edit waits."""
        session = self.require_session()
        while True:
            try:
                await session.wait_for_idle()
            except ActivityClosedError:
                raise ToolError("The session is closing; nothing changed.") from None
            await self.settle()
            await self._changing.acquire()
            under_way = self.hand_off
            if session.current_speech is None and not self._tasks and under_way is None:
                break
            self._changing.release()  # a reply, an edit or a hand-off is under way: wait for it too
            if under_way is not None:
                await under_way.result
        try:
            yield
        finally:
            self._changing.release()

    async def _entered_or_undone(self, hand_off: HandOff, what: str) -> None:
        """Wait until the fresh agent took over (the change then committed); if the
        session closed first, nothing changed."""
        if not await hand_off.result:
            raise ToolError(f"The session closed before {what} took effect; nothing changed.")

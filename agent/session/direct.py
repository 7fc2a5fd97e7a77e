"""Changes asked for directly (a frontend's RPC), not by the model's tool call.

No reply carries them: each waits until the agent is between replies (a reply's tool
takes the same lock), is made exactly as the tool's would be (same strategies, same
commit points), and is then announced from the same line templates. A hand-off is
awaited, so the outcome says whether it really happened. Direct changes run one at a
time, start to end; a hand-off still under way (the model's) is waited for first.

A part of ``SessionController`` kept apart (a base class of it): it works on the
controller's own state with the controller's own helpers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from livekit.agents.llm import ToolError
from livekit.agents.voice.agent_activity import ActivityClosedError

from tools import Outcome, about_minutes

from . import forgetting
from .session_agent import SessionAgent

logger = logging.getLogger("agent")


class DirectChanges:
    """The controller's entry points for direct changes (``SessionController`` sets up
    ``_direct`` and ``_hand_off_moved``; the rest is its own state and helpers)."""

    async def direct_switch_persona(self, persona: str) -> Outcome:
        async with self._direct:
            async with self._between_replies():
                target, instructions, line = self._switch_target(persona)
                if target.id == self.persona_id:
                    return Outcome("unchanged", target.name)
                self._one_change_at_a_time(f"the switch to {target.name}", hand_off=True)
                agent = self._agent()
                old_tts = agent.tts
                applied = await self._apply_switch(agent, target, instructions, line, agent.chat_ctx.copy())
                if applied.handoff is None:
                    agent.persona_id = target.id
                    self._commit_persona(target.id)
                    speech = self.speak(line)
                    if agent.tts is not old_tts:
                        self._after(speech, self.provider.release(old_tts))
                    return Outcome("switched", target.name, say=line, notes=applied.notes)
                self._hand_off_directly(applied.handoff)
            await self._entered_or_undone(applied.handoff, f"the switch to {target.name}")
            return Outcome("switched", target.name, say=line, notes=applied.notes)

    async def direct_forget(self, scope: str) -> Outcome:
        """``last_turn``: the user's last turn and the reply to it (no request of theirs
        follows it in the conversation, so the rule's "turn before the request" is that one)."""
        subject = "the whole conversation" if scope == "everything" else "the user's last turn and the reply to it"
        async with self._direct:
            async with self._between_replies():
                agent = self._agent()
                if scope == "last_turn" and not forgetting.has_previous_turn(agent.chat_ctx.items):
                    return Outcome("nothing_to_forget")
                if not self.strategy.forget_hands_off:
                    refusals = await self._forget_in_place(scope, None, set())
                    line = self.render("lines/forget_incomplete" if refusals else "lines/forget", scope=scope)
                    self.speak(line)
                    return Outcome("incomplete" if refusals else "forgotten", subject, say=line)
                self._one_change_at_a_time("forgetting", hand_off=True)
                line = self.render("lines/forget", scope=scope)
                context = agent.chat_ctx
                kept = forgetting.without(context, forgetting.items_to_forget(context.items, scope, None))
                applied = self.strategy.forget(self, kept, line)
                # the fresh session starts without the forgotten part; the history follows once it took over
                applied.handoff.on_entered = lambda: self._scrub_history(scope, None, set())
                self._hand_off_directly(applied.handoff)
            await self._entered_or_undone(applied.handoff, "forgetting")
            return Outcome("forgotten", subject, say=line, notes=applied.notes)

    async def direct_mark_away(self, minutes: float | None) -> Outcome:
        async with self._direct:
            async with self._between_replies():
                already = self.away.requested
                self.away.start(requested=True, minutes=minutes)
                subject = about_minutes(minutes or self.away.policy.default_hold_minutes)
                if already:
                    return Outcome("already_away", subject)
                line = self.line("lines/away_ack", minutes=minutes)
                self.speak(line)
                return Outcome("away", subject, say=line)

    async def direct_mark_back(self) -> Outcome:
        async with self._direct:
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
            under_way = self._hand_off
            if session.current_speech is None and not self._pending and under_way is None:
                break
            self._changing.release()  # a reply, an edit or a hand-off is under way: wait for it too
            if under_way is not None:
                await self._took_over(under_way)
        try:
            yield
        finally:
            self._changing.release()

    def _hand_off_directly(self, fresh: SessionAgent) -> None:
        self._hand_off = fresh
        self.require_session().update_agent(fresh)

    async def _entered_or_undone(self, fresh: SessionAgent, what: str) -> None:
        """Wait until ``fresh`` took over (``entered`` committed the change); if the session
        closed first, nothing changed."""
        if await self._took_over(fresh):
            return
        if self._hand_off is fresh:
            self._hand_off = None
        await self.provider.release(fresh.llm, fresh.tts)
        raise ToolError(f"The session closed before {what} took effect; nothing changed.")

    async def _took_over(self, fresh: SessionAgent) -> bool:
        """Wait until the hand-off to ``fresh`` ended: True if it entered, False if livekit
        dropped it or the session closed first."""
        session = self.require_session()
        closed = asyncio.Event()
        on_close = lambda _: closed.set()  # noqa: E731
        session.on("close", on_close)
        try:
            while self._hand_off is fresh and not closed.is_set():
                waits = [asyncio.ensure_future(self._hand_off_moved.wait()), asyncio.ensure_future(closed.wait())]
                try:
                    await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    for wait in waits:
                        wait.cancel()
        finally:
            session.off("close", on_close)
        return self._active is fresh

    @property
    def _hand_off(self) -> SessionAgent | None:
        return self._handing_off

    @_hand_off.setter
    def _hand_off(self, agent: SessionAgent | None) -> None:
        self._handing_off = agent
        self._hand_off_moved.set()  # wakes _took_over
        self._hand_off_moved = asyncio.Event()

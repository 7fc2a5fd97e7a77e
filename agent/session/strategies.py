"""How a change is applied on each provider: in place where it really takes,
otherwise by handing off to a fresh agent on a fresh realtime session.

A fresh session carries the new instructions and voice and exactly the context
that should survive: everything for a persona switch, what is left after a
forget. It costs one reconnect; livekit's hand-off drains the old session before
the new one starts, so two sessions never talk at once.

An in-place change counts only once the provider confirmed it (confirmations.py); a
refused one is rolled back and reported.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, Protocol

from livekit.agents import llm

from . import forgetting
from .capabilities import Changeable
from .confirmations import Confirmations, Refused

from .model_source import ModelSource
from .controlled_agent import ControlledAgent


class AgentMaker(Protocol):
    """What a strategy needs from the session controller."""

    provider: ModelSource

    def new_agent(
        self, *, persona_id: str | None = None, chat_ctx: llm.ChatContext | None = None, entry_line: str = ""
    ) -> ControlledAgent: ...

logger = logging.getLogger("agent")

RECONNECT_NOTE = "The new voice and persona take over after a short reconnect."
FORGET_RECONNECT_NOTE = "This takes a short reconnect: a new session starts without the forgotten part."


@dataclass(frozen=True)
class Applied:
    """``handoff``: a fresh agent that carries the change and speaks the line itself.
    Without one, the change was made in place (a forget: once the reply is spoken)."""

    notes: tuple[str, ...] = ()
    handoff: ControlledAgent | None = None


class Strategy(Protocol):
    async def switch_persona(
        self, ctl: AgentMaker, agent: ControlledAgent, persona: Any, instructions: str, line: str, carried: llm.ChatContext
    ) -> Applied: ...

    forget_hands_off: bool
    """Whether a forget needs a fresh session (the context cannot be edited in place)."""

    def forget(self, ctl: AgentMaker, kept: llm.ChatContext, line: str) -> Applied: ...

    async def apply_forget(
        self, agent: ControlledAgent, scope: str, call_id: str, reply_ids: Collection[str], *, about: str | None = None
    ) -> tuple[list[llm.ChatItem], list[str]]:
        """Edit the context in place, after the acknowledgement; return the items
        removed and the provider's refusals (empty: all removed). ``about``: only the
        turns that mention it (forgetting.items_to_forget)."""
        ...


class InPlace:
    """A model that is not realtime: the prompt is rebuilt each turn and TTS voices swap freely."""

    forget_hands_off = False

    async def switch_persona(self, ctl, agent, persona, instructions, line, carried) -> Applied:
        await agent.update_instructions(instructions)
        if (tts := ctl.provider.tts_for(persona.voices)) is not None:
            agent.update_options(tts=tts)
        return Applied()

    def forget(self, ctl, kept, line) -> Applied:
        return Applied()

    async def apply_forget(self, agent, scope, call_id, reply_ids, *, about=None):
        forgotten = forgetting.items_to_forget(agent.chat_ctx.items, scope, call_id, reply_ids, about=about)
        await agent.update_chat_ctx(forgetting.without(agent.chat_ctx, forgotten))
        return forgotten, []


class Realtime:
    """A realtime model: live updates where the provider applies them, a fresh session otherwise."""

    def __init__(self, provider: ModelSource, changeable: Changeable) -> None:
        self.provider = provider
        self.changeable = changeable

    def voice_changes_live(self, agent: ControlledAgent) -> bool:
        if self.changeable.voice == "live":
            return True
        # the provider fixes the voice once the session produced audio (it tells: watch_audio)
        return self.changeable.voice == "before_audio" and (
            not agent.llm.capabilities.audio_output or not agent.has_spoken
        )

    def _answers(self, agent: ControlledAgent) -> Confirmations:
        return self.provider.confirmations(agent.realtime_llm_session)

    def _seed(self, chat_ctx: llm.ChatContext) -> llm.ChatContext:
        """What a fresh session starts from: the kept context, without earlier tool calls
        where the provider would take their results as answers to calls it never made."""
        if self.changeable.seeds_tool_results:
            return chat_ctx
        return forgetting.without(chat_ctx, [it for it in chat_ctx.items if it.type in ("function_call", "function_call_output")])

    async def switch_persona(self, ctl, agent, persona, instructions, line, carried) -> Applied:
        def fresh_session() -> Applied:
            fresh = ctl.new_agent(persona_id=persona.id, chat_ctx=self._seed(carried), entry_line=line)
            return Applied(notes=(RECONNECT_NOTE,), handoff=fresh)

        voice, old_voice = persona.voices.get(self.provider.voice_key), agent.voice
        voice_differs = bool(voice) and voice != old_voice
        if not self.changeable.instructions_live or (voice_differs and not self.voice_changes_live(agent)):
            return fresh_session()
        if voice_differs:
            with self._answers(agent) as answers:
                agent.llm.update_options(voice=voice)
                try:
                    await answers.session_updated()
                except Refused as e:
                    agent.llm.update_options(voice=old_voice)  # the plugin replays its options on a reconnect
                    if not e.fresh_session:
                        raise
                    logger.warning("the provider refused the new voice; the switch takes a fresh session")
                    return fresh_session()
            agent.voice = voice
        old_instructions = agent.instructions
        with self._answers(agent) as answers:
            await agent.update_instructions(instructions)
            try:
                await answers.session_updated()
            except Refused:
                # livekit took the new instructions before the provider answered: put back the old
                await agent.update_instructions(old_instructions)
                if voice_differs:
                    agent.llm.update_options(voice=old_voice)
                    agent.voice = old_voice
                raise
        return Applied()

    @property
    def forget_hands_off(self) -> bool:
        return not self.changeable.context_live

    def forget(self, ctl, kept, line) -> Applied:
        if not self.forget_hands_off:
            return Applied()
        # a new model instance starts a new session: no resumption handle, only the kept turns
        return Applied(notes=(FORGET_RECONNECT_NOTE,), handoff=ctl.new_agent(chat_ctx=self._seed(kept), entry_line=line))

    async def apply_forget(self, agent, scope, call_id, reply_ids, *, about=None):
        # the provider's own copy knows items the agent's may still lack (a user turn whose
        # transcript has not arrived): plan on both, and keep what only the provider has
        # unless it is forgotten, or the plugin would delete it as missing
        local, remote = agent.chat_ctx, agent.realtime_llm_session.chat_ctx
        forgotten = forgetting.items_to_forget(local.items, scope, call_id, reply_ids, about=about)
        local_ids = {it.id for it in local.items}
        only_remote = [
            it
            for it in forgetting.items_to_forget(remote.items, scope, call_id, reply_ids, about=about)
            if it.id not in local_ids
        ]
        ids = {it.id for it in (*forgotten, *only_remote)}
        kept = forgetting.without(local, ids)
        for item in remote.items:
            if item.id not in local_ids and item.id not in ids:
                kept.insert(item)
        to_delete = [it.id for it in remote.items if it.id in ids]
        with self._answers(agent) as answers:
            update = asyncio.ensure_future(agent.update_chat_ctx(kept))
            update.add_done_callback(_log_late_failure)
            refusals = await answers.items_deleted(to_delete)
            if not answers.available:
                await update
        return forgotten + only_remote, refusals


def _log_late_failure(task: Any) -> None:
    # a refused delete fails the plugin's own wait too (the error names its request); already reported
    if not task.cancelled() and (e := task.exception()) is not None:
        logger.debug("chat context update ended with: %s", e)


def strategy_for(provider: ModelSource, changeable: Changeable) -> Strategy:
    return Realtime(provider, changeable) if provider.realtime else InPlace()

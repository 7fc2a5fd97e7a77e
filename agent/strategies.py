"""How a change is applied on each provider: in place where it really takes,
otherwise by handing off to a fresh agent on a fresh realtime session.

A fresh session carries the new instructions and voice and exactly the context
that should survive: everything for a persona switch, what is left after a
forget. It costs one reconnect; livekit's hand-off drains the old session before
the new one starts, so two sessions never talk at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from livekit.agents import llm

from .capabilities import Behaviour

if TYPE_CHECKING:
    from .control import SessionController
    from .providers import Provider
    from .session_agent import SessionAgent

RECONNECT_NOTE = "The new voice and persona take over after a short reconnect."
FORGET_RECONNECT_NOTE = "This takes a short reconnect: a new session starts without the forgotten part."


@dataclass(frozen=True)
class Applied:
    """``handoff``: a fresh agent that carries the change and speaks the line itself.
    Without one, the change was made in place (a forget: once the reply is spoken)."""

    notes: tuple[str, ...] = ()
    handoff: SessionAgent | None = None


class Strategy(Protocol):
    async def switch_persona(
        self, ctl: SessionController, agent: SessionAgent, persona: Any, instructions: str, line: str, carried: llm.ChatContext
    ) -> Applied: ...

    def forget(self, ctl: SessionController, kept: llm.ChatContext, line: str) -> Applied: ...


class InPlace:
    """Pipeline and offline model: the prompt is rebuilt each turn and TTS voices swap freely."""

    async def switch_persona(self, ctl, agent, persona, instructions, line, carried) -> Applied:
        await agent.update_instructions(instructions)
        if (tts := ctl.provider.tts_for(persona.voices)) is not None:
            agent.update_options(tts=tts)
        return Applied()

    def forget(self, ctl, kept, line) -> Applied:
        return Applied()


class Realtime:
    """A realtime model: live updates where the provider applies them, a fresh session otherwise."""

    def __init__(self, provider: Provider, behaviour: Behaviour) -> None:
        self.provider = provider
        self.behaviour = behaviour

    def voice_changes_live(self, agent: SessionAgent) -> bool:
        if self.behaviour.voice == "live":
            return True
        # OpenAI rejects a voice change once the session produced audio (cannot_update_voice)
        return self.behaviour.voice == "before_audio" and (
            not agent.llm.capabilities.audio_output or not agent.has_spoken
        )

    async def switch_persona(self, ctl, agent, persona, instructions, line, carried) -> Applied:
        voice = persona.voices.get(self.provider.name)
        voice_differs = bool(voice) and voice != agent.voice
        if not self.behaviour.instructions_live or (voice_differs and not self.voice_changes_live(agent)):
            fresh = ctl.new_agent(persona_id=persona.id, chat_ctx=carried, entry_line=line)
            return Applied(notes=(RECONNECT_NOTE,), handoff=fresh)
        await agent.update_instructions(instructions)
        if voice_differs:
            agent.llm.update_options(voice=voice)
            agent.voice = voice
        return Applied()

    def forget(self, ctl, kept, line) -> Applied:
        if self.behaviour.context_live:
            return Applied()
        # a new model instance starts a new session: no resumption handle, only the kept turns
        return Applied(notes=(FORGET_RECONNECT_NOTE,), handoff=ctl.new_agent(chat_ctx=kept, entry_line=line))


def strategy_for(provider: Provider, behaviour: Behaviour) -> Strategy:
    return Realtime(provider, behaviour) if provider.realtime else InPlace()

"""What each provider can change mid-session.

livekit's ``RealtimeCapabilities`` says whether instructions and the chat context
are mutable; it says nothing about the voice, and on the Gemini API it reports
changes that do not really take (new instructions are only appended as a turn,
items cannot be removed, a reconnect resumes the old history). The table of
known behaviours fills the gaps; where either says "no", the answer is no.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from livekit.agents import llm

VoiceChange = Literal["live", "before_audio", "reconnect", "none"]


@dataclass(frozen=True)
class Behaviour:
    instructions_live: bool
    context_live: bool
    voice: VoiceChange
    answers_updates: bool = False  # its plugin re-emits the server's answer to each update (answers.py)
    seeds_tool_results: bool = True  # a fresh session may be given earlier tool calls and results

    def as_template_variables(self) -> dict[str, bool]:
        return {
            "instructions_apply_live": self.instructions_live,
            "context_edits_live": self.context_live,
            "voice_can_change": self.voice != "none",
            "voice_changes_live": self.voice == "live",
        }


KNOWN: dict[str, Behaviour] = {
    # the pipeline rebuilds the prompt each turn and swaps TTS voices freely
    "pipeline": Behaviour(instructions_live=True, context_live=True, voice="live"),
    "offline": Behaviour(instructions_live=True, context_live=True, voice="live"),
    # session.update and conversation.item.delete work; the voice is fixed once audio was produced
    "openai": Behaviour(instructions_live=True, context_live=True, voice="before_audio", answers_updates=True),
    # Gemini API (not Vertex): instructions are appended as a model turn, removals are ignored
    "google": Behaviour(instructions_live=False, context_live=False, voice="reconnect"),
    # livekit-plugins-ultravox 1.8.9: new instructions restart the call without its history,
    # removals send nothing, the voice is set only when a call is created; seeding a call
    # with an earlier tool result sends it as the answer to an invocation this call never made
    "ultravox": Behaviour(instructions_live=False, context_live=False, voice="reconnect", seeds_tool_results=False),
    # livekit-plugins-aws 1.8.9 (Nova Sonic): instructions and history only at session start,
    # no voice setter
    "aws": Behaviour(instructions_live=False, context_live=False, voice="reconnect"),
}

# a realtime provider we know nothing about: trust only what livekit reports
_UNKNOWN_REALTIME = Behaviour(instructions_live=True, context_live=True, voice="none")


def behaviour_for(provider: str, model: object) -> Behaviour:
    known = KNOWN.get(provider, _UNKNOWN_REALTIME)
    if not isinstance(model, llm.RealtimeModel):
        return known
    caps = model.capabilities
    return replace(
        known,
        instructions_live=known.instructions_live and caps.mutable_instructions,
        context_live=known.context_live and caps.mutable_chat_context,
    )

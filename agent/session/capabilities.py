"""What each provider can change mid-session.

livekit's ``RealtimeCapabilities`` says whether instructions and the chat context
are mutable; it says nothing about the voice, and for some providers it reports
changes that do not really take (new instructions only appended as a turn, items
that cannot be removed, a reconnect that resumes the old history). Each provider's row of
what is known to change (its module in agent/providers/) fills the gaps; where either
says "no", the answer is no.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from livekit.agents import llm

VoiceChange = Literal["live", "before_audio", "reconnect", "none"]


@dataclass(frozen=True)
class Changeable:
    """What can change mid-session on a provider, and how the voice changes."""

    instructions_live: bool
    context_live: bool
    voice: VoiceChange
    seeds_tool_results: bool = True  # a fresh session may be given earlier tool calls and results

    def as_template_variables(self) -> dict[str, bool]:
        return {
            "instructions_apply_live": self.instructions_live,
            "context_edits_live": self.context_live,
            "voice_can_change": self.voice != "none",
            "voice_changes_live": self.voice == "live",
        }


# a realtime provider we know nothing about: trust only what livekit reports
_UNKNOWN_REALTIME = Changeable(instructions_live=True, context_live=True, voice="none")


def changeable_for(known: Changeable | None, model: object) -> Changeable:
    """What a provider is known to change mid-session (None: nothing known), narrowed
    by what its realtime model reports."""
    known = known or _UNKNOWN_REALTIME
    if not isinstance(model, llm.RealtimeModel):
        return known
    caps = model.capabilities
    return replace(
        known,
        instructions_live=known.instructions_live and caps.mutable_instructions,
        context_live=known.context_live and caps.mutable_chat_context,
    )

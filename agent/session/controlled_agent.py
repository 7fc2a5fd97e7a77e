"""The LiveKit Agent: one persona on one model, with the session tools.

A persona switch or a forget that the provider cannot apply in place hands off
to a fresh ControlledAgent (a fresh realtime session); the controller, which holds
the state that must survive that, is shared.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable
from typing import Any, Protocol

from livekit.agents import Agent, ModelSettings, llm
from livekit.agents.llm import StopResponse

from tools import SessionControl, build_session_tools

from . import forgetting
from .model_source import ModelSource


class AgentControl(SessionControl, Protocol):
    """What the agent needs from the session controller, besides the tools' side."""

    forgotten_ids: set[str]
    provider: ModelSource

    def entered(self, agent: ControlledAgent) -> None: ...

    def speak(self, text: str) -> Any: ...

    async def may_reply(self, chat_ctx: llm.ChatContext) -> bool: ...


class ControlledAgent(Agent):
    def __init__(
        self,
        controller: AgentControl,
        *,
        instructions: str,
        model: llm.LLM | llm.RealtimeModel,
        tts: Any = None,
        chat_ctx: llm.ChatContext | None = None,
        entry_line: str = "",
        voice: str | None = None,
    ) -> None:
        super().__init__(
            instructions=instructions,
            tools=build_session_tools(controller),
            llm=model,
            chat_ctx=chat_ctx,
            **({"tts": tts} if tts is not None else {}),
        )
        self.controller = controller
        self.entry_line = entry_line
        self.voice = voice  # the voice its model was built with
        self.has_spoken = False  # set once this agent's session produced speech
        self.entered = asyncio.Event()  # for those who wait for it (the chat's greeting, tests)
        self.entry_speech: Any = None

    async def on_enter(self) -> None:
        if isinstance(self.llm, llm.RealtimeModel):
            # a provider may fix the voice once the session produced audio; note when it does
            self.controller.provider.watch_audio(self.realtime_llm_session, self._note_audio)
        self.controller.entered(self)
        # the greeting at start, or the switch line after a fresh realtime session
        if self.entry_line:
            self.entry_speech = self.controller.speak(self.entry_line)
        self.entered.set()

    def _note_audio(self) -> None:
        self.has_spoken = True

    async def on_user_turn_completed(self, turn_ctx: llm.ChatContext, new_message: llm.ChatMessage) -> None:
        # the audio path (and realtime models, which never reach llm_node)
        if not await self.controller.may_reply(_with(turn_ctx, new_message)):
            raise StopResponse()

    async def llm_node(
        self, chat_ctx: llm.ChatContext, tools: list[llm.Tool], model_settings: ModelSettings
    ) -> AsyncIterable[llm.ChatChunk | str]:
        # covers both the audio path and session.run (which skips on_user_turn_completed)
        if not await self.controller.may_reply(chat_ctx):
            return
        if self.controller.forgotten_ids:
            # a forget applied while this turn waited for it: its context was taken before
            chat_ctx = forgetting.without(chat_ctx, self.controller.forgotten_ids)
        async for chunk in Agent.default.llm_node(self, chat_ctx, tools, model_settings):
            yield chunk


def _with(chat_ctx: llm.ChatContext, message: llm.ChatMessage) -> llm.ChatContext:
    ctx = chat_ctx.copy()
    ctx.items.append(message)
    return ctx

"""A real AgentSession on the real controller, driven with session.run (text only)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from livekit.agents import AgentSession, llm

import prompts
from agent.away import AwayPolicy
from agent.control import SessionController
from agent.providers import Provider


@dataclass
class ScriptedProvider(Provider):
    """The pipeline provider with a given LLM in place of an OpenAI-compatible one."""

    model: Any = field(default=None, repr=False)

    def _build_model(self, voices):  # type: ignore[override]
        return self.model


@dataclass
class Chat:
    session: AgentSession
    ctl: SessionController
    events: list[tuple[str, Any]]

    async def say(self, text: str):
        result = await self.session.run(user_input=text)
        await self.ctl.settle()
        return result

    def context_texts(self) -> list[str]:
        return [m.text_content for m in self.session.current_agent.chat_ctx.messages() if m.role in ("user", "assistant")]

    def history_texts(self) -> list[str]:
        return [m.text_content for m in self.session.history.messages() if m.role in ("user", "assistant")]


@asynccontextmanager
async def start_chat(
    model: llm.LLM | None = None,
    *,
    persona: str = "assistant",
    away: AwayPolicy | None = None,
    library: prompts.PromptLibrary | None = None,
    user_away_timeout: float | None = None,
) -> AsyncIterator[Chat]:
    library = library or prompts.PromptLibrary()
    provider = ScriptedProvider("pipeline", {}, model=model) if model else Provider("offline", {})
    ctl = SessionController(library, provider, persona=persona, away=away)
    session = AgentSession(vad=None, user_away_timeout=user_away_timeout, turn_handling={"turn_detection": "manual"})
    events: list[tuple[str, Any]] = []
    session.on("user_state_changed", lambda ev: events.append(("user_state_changed", (ev.old_state, ev.new_state))))
    ctl.on_persona_changed.append(lambda pid: events.append(("persona_changed", pid)))
    ctl.attach(session)
    await session.start(ctl.first_agent(greet=False))
    try:
        yield Chat(session, ctl, events)
    finally:
        await ctl.settle()
        await session.aclose()
        await provider.aclose()


@pytest.fixture
def chat():
    return start_chat

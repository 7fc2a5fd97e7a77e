"""The composition root: the one place a controlled session is put together, in the
order LiveKit needs: the controller attached before the session starts, the changes
deferred past a reply settled before it closes, the provider's models closed last.
The ways in (chat, audio chat, worker), the tests and the benchmarks all build here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from livekit.agents import AgentSession

import prompts

from .providers import Provider, check_config, choose_provider, load_env
from .session.away import AwayPolicy
from .session.control import SessionController
from .session.controlled_agent import ControlledAgent


@dataclass
class ControlledSession:
    """A LiveKit ``AgentSession`` with its controller, not started yet: add listeners,
    then ``start``."""

    session: AgentSession
    controller: SessionController
    provider: Provider

    async def start(self, agent: ControlledAgent | None = None, *, greet: bool = True, **start_options: Any) -> ControlledAgent:
        """Start the session on ``agent`` (default: the controller's first agent, which says
        its greeting first when ``greet``); ``room=``, ``room_options=`` as
        ``AgentSession.start`` takes them."""
        agent = agent or self.controller.first_agent(greet=greet)
        await self.session.start(agent, **start_options)
        return agent

    async def aclose(self) -> None:
        """Let deferred changes finish, close the session, then the models it used."""
        try:
            await self.controller.settle()
            await self.session.aclose()
        finally:
            await self.provider.aclose()


def build_session(
    provider: Provider | str | None = None,
    *,
    env: Mapping[str, str] | None = None,
    library: prompts.PromptLibrary | None = None,
    persona: str = "assistant",
    instructions: str | None = None,
    agent_class: type[ControlledAgent] = ControlledAgent,
    greeting: str = "",
    user_name: str | None = None,
    away: AwayPolicy | None = None,
    **session_options: Any,
) -> ControlledSession:
    """A controlled session on ``provider`` (a Provider, a provider's name, or None: the
    one the environment selects, as the chat does). ``instructions``: an agent's own, in
    place of the personas (see SessionController); ``session_options`` go to
    ``AgentSession``. A provider missing a setting is refused here (ConfigError)."""
    env = dict(load_env() if env is None else env)
    if not isinstance(provider, Provider):
        provider = Provider(choose_provider(env, provider), env)
        check_config(provider.name, env)
    library = library or prompts.PromptLibrary(env.get("PROMPTS_DIR"))
    controller = SessionController(
        library,
        provider,
        persona=persona,
        instructions=instructions,
        agent_class=agent_class,
        greeting=greeting,
        user_name=user_name,
        away=away,
    )
    session = AgentSession(**session_options)
    controller.attach(session)
    return ControlledSession(session, controller, provider)


@asynccontextmanager
async def controlled_session(provider: Provider | str | None = None, **options: Any) -> AsyncIterator[ControlledSession]:
    """``build_session(...)`` as ``async with``: closed in order when the block ends."""
    live = build_session(provider, **options)
    try:
        yield live
    finally:
        await live.aclose()

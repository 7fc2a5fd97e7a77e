"""The LiveKit worker: joins rooms as any LiveKit agent does (``dev``, ``start``,
``console``), and publishes the persona and the user's away state as participant
attributes so a frontend can show them."""

from __future__ import annotations

import asyncio
import logging
import sys
from typing import Any

from livekit.agents import AgentServer, AgentSession, JobContext, cli

import prompts

from . import privacy
from .session.control import SessionController
from .providers import Provider, choose_provider, load_env

logger = logging.getLogger("agent")

ATTR_PERSONA = "agent.persona"
ATTR_USER_STATE = "agent.user_state"

server = AgentServer()

# plugins register on import, on the main thread: import the chosen provider's now
_env = load_env()
Provider(choose_provider(_env), _env).import_plugin()


def session_attributes(ctl: SessionController, session: AgentSession) -> dict[str, str]:
    return {ATTR_PERSONA: ctl.persona_id, ATTR_USER_STATE: session.user_state}


@server.rtc_session()
async def entrypoint(ctx: JobContext) -> None:
    env = load_env()
    privacy.install(env)  # in the process the session runs in: LiveKit logs every line said at DEBUG
    provider = Provider(choose_provider(env), env)
    library = prompts.PromptLibrary(env.get("PROMPTS_DIR"))
    ctl = SessionController(library, provider, persona=env.get("AGENT_PERSONA") or "assistant")
    stt = provider.stt()
    # a pipeline without speech-to-text is text-only: no VAD to load
    session = AgentSession(**({"stt": stt} if stt else {} if provider.realtime else {"vad": None}))
    ctl.attach(session)
    ctx.add_shutdown_callback(provider.aclose)

    async def publish() -> None:
        await ctx.room.local_participant.set_attributes(session_attributes(ctl, session))

    pending: set[asyncio.Task[None]] = set()

    def publish_soon(*_: Any) -> None:
        task = asyncio.create_task(publish())
        pending.add(task)
        task.add_done_callback(pending.discard)

    session.on("user_state_changed", publish_soon)
    ctl.on_persona_changed.append(publish_soon)
    await session.start(ctl.first_agent(), room=ctx.room)
    await publish()


def run_worker(argv: list[str]) -> int:
    sys.argv = [sys.argv[0], *argv]
    cli.run_app(server)
    return 0

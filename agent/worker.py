"""The LiveKit worker: joins rooms as any LiveKit agent does (``dev``, ``start``,
``console``); a frontend sees and drives the session through the agent participant's
attributes and RPC methods (frontend.py)."""

from __future__ import annotations

import logging
import sys

from livekit.agents import AgentServer, AgentSession, JobContext, cli, room_io, tts

import prompts

from .frontend import ATTR_PERSONA, ATTR_PERSONAS, ATTR_USER_STATE, Frontend, dispatch_options, session_attributes
from .session.control import SessionController
from .providers import Provider, choose_provider, load_env

logger = logging.getLogger("agent")

__all__ = ["ATTR_PERSONA", "ATTR_PERSONAS", "ATTR_USER_STATE", "entrypoint", "server", "session_attributes"]

server = AgentServer()

# plugins register on import, on the main thread: import the chosen provider's now
_env = load_env()
Provider(choose_provider(_env), _env).import_plugin()


# AGENT_NAME: explicit dispatch only (a frontend or `lk dispatch` names the agent and may
# pass metadata); without it LiveKit dispatches the agent to every new room
@server.rtc_session(agent_name=_env.get("AGENT_NAME", ""))
async def entrypoint(ctx: JobContext) -> None:
    env = load_env()
    provider = Provider(choose_provider(env), env)
    library = prompts.PromptLibrary(env.get("PROMPTS_DIR"))
    chosen = dispatch_options(ctx.job.metadata, library.personas())
    ctl = SessionController(
        library,
        provider,
        persona=chosen.get("persona") or env.get("AGENT_PERSONA") or "assistant",
        user_name=chosen.get("user_name"),
    )
    stt = provider.stt()
    # a pipeline without speech-to-text is text-only: no VAD to load
    session = AgentSession(**({"stt": stt} if stt else {} if provider.realtime else {"vad": None}))
    ctl.attach(session)
    ctx.add_shutdown_callback(provider.aclose)
    agent = ctl.first_agent()
    # audio tracks only where the agent hears and speaks; text in and out always
    hears = provider.realtime or stt is not None
    speaks = isinstance(agent.tts, tts.TTS) or (provider.realtime and env.get("AGENT_MODALITIES") != "text")
    options = room_io.RoomOptions(audio_input=hears, audio_output=speaks)
    await session.start(agent, room=ctx.room, room_options=options)
    await Frontend(ctx.room.local_participant, ctl, session).start()


def run_worker(argv: list[str]) -> int:
    sys.argv = [sys.argv[0], *argv]
    cli.run_app(server)
    return 0

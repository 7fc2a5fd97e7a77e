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

from .offline.speech import load_models
from .session.control import SessionController
from .providers import Provider, choose_provider, load_env
from .voice import worker_options

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
    provider = Provider(choose_provider(env), env)
    library = prompts.PromptLibrary(env.get("PROMPTS_DIR"))
    ctl = SessionController(library, provider, persona=env.get("AGENT_PERSONA") or "assistant")
    options = worker_options(provider)  # speech (offline where none is configured), local VAD and turn detector
    if provider.offline_speech:
        await load_models()  # off the event loop, once per process
    # a realtime model hears for itself; a pipeline with no speech at all is text-only: no VAD to load
    session = AgentSession(**(options or ({} if provider.realtime else {"vad": None})))
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
    if argv[:1] == ["console"] and (problem := audio_device_problem(argv[1:])):
        print(problem, file=sys.stderr)
        return 1
    sys.argv = [sys.argv[0], *argv]
    cli.run_app(server)
    return 0


def audio_device_problem(options: list[str]) -> str | None:
    """Why ``console`` cannot start here, in one line, or None. LiveKit's console imports
    sounddevice, which raises OSError "PortAudio library not found" without the system
    library, and in audio mode needs a default microphone and speaker."""
    try:
        import sounddevice as sd
    except OSError:
        return (
            "error: console needs the PortAudio library: install it (Debian/Ubuntu: apt-get install libportaudio2; "
            "macOS: brew install portaudio), or speak from files: python -m agent chat --audio-in TURN.wav"
        )
    if "--text" in options or "--list-devices" in options or any(o.startswith("--input-device") for o in options):
        return None
    try:
        sd.query_devices(kind="input")
        sd.query_devices(kind="output")
    except sd.PortAudioError:
        return (
            "error: console found no default microphone and speaker; choose them with --input-device and "
            "--output-device (see --list-devices), type with --text, or speak from files: python -m agent chat --audio-in TURN.wav"
        )
    return None

"""The LiveKit worker: joins rooms as any LiveKit agent does (``dev``, ``start``,
``console``); a frontend sees and drives the session through the agent participant's
attributes and RPC methods (frontend.py)."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping
from typing import Any

from livekit.agents import AgentServer, JobContext, cli, room_io, tts

import prompts

from . import privacy
from .frontend import ATTR_PERSONA, ATTR_PERSONAS, ATTR_USER_STATE, Frontend, dispatch_options, session_attributes
from .offline.speech import load_models
from .providers import ConfigError, Provider, check_config, choose_provider, describe_endpoint, load_env, url_host
from .compose import build_session
from .voice import worker_options

logger = logging.getLogger("agent")

__all__ = ["ATTR_PERSONA", "ATTR_PERSONAS", "ATTR_USER_STATE", "entrypoint", "server", "session_attributes"]

# what `dev`, `start` and `connect` need to reach a LiveKit server, and the flag that may give it instead
LIVEKIT_VARIABLES = (("LIVEKIT_URL", "--url"), ("LIVEKIT_API_KEY", "--api-key"), ("LIVEKIT_API_SECRET", "--api-secret"))


class Server(AgentServer):
    """An AgentServer that keeps the error it stopped with: livekit's CLI only logs it
    ("worker failed") and exits 0."""

    failure: BaseException | None = None

    async def run(self, *, devmode: bool = False, unregistered: bool = False) -> None:
        try:
            await super().run(devmode=devmode, unregistered=unregistered)
        except Exception as e:
            self.failure = e
            raise


def server_options(env: Mapping[str, str]) -> dict[str, Any]:
    """AGENT_HTTP_PORT (the health check's port; livekit's default is 8081 for `start`,
    0 picks a free one) and AGENT_IDLE_PROCESSES (job processes kept warm; livekit's
    default is one per CPU for `start`, each loading the models)."""
    options: dict[str, Any] = {}
    for variable, option in (("AGENT_HTTP_PORT", "port"), ("AGENT_IDLE_PROCESSES", "num_idle_processes")):
        if value := env.get(variable, "").strip():
            if not value.isdigit():
                raise ConfigError(f"{variable} must be a whole number, not {value!r}")
            options[option] = int(value)
    return options


_env = load_env()
server = Server(**server_options(_env))

# plugins register on import, on the main thread: import the chosen provider's now
Provider(choose_provider(_env), _env).import_plugin()


# AGENT_NAME: explicit dispatch only (a frontend or `lk dispatch` names the agent and may
# pass metadata); without it LiveKit dispatches the agent to every new room
@server.rtc_session(agent_name=_env.get("AGENT_NAME", ""))
async def entrypoint(ctx: JobContext) -> None:
    env = load_env()
    privacy.install(env)  # in the process the session runs in: LiveKit logs every line said at DEBUG
    provider = Provider(choose_provider(env), env)
    library = prompts.PromptLibrary(env.get("PROMPTS_DIR"))
    chosen = dispatch_options(ctx.job.metadata, library.personas())
    speech = worker_options(provider)  # speech (offline where none is configured), local VAD and turn detector
    if provider.offline_speech:
        await load_models()  # off the event loop, once per process
    # a realtime model hears for itself; a pipeline with no speech at all is text-only: no VAD to load
    live = build_session(
        provider,
        env=env,
        library=library,
        persona=chosen.get("persona") or env.get("AGENT_PERSONA") or "assistant",
        user_name=chosen.get("user_name"),
        **(speech or ({} if provider.realtime else {"vad": None})),
    )
    ctx.add_shutdown_callback(live.aclose)
    session, ctl = live.session, live.controller
    # audio tracks only where the agent hears and speaks; text in and out always
    hears = provider.realtime or speech is not None
    agent = ctl.first_agent()
    speaks = isinstance(agent.tts, tts.TTS) or (provider.realtime and env.get("AGENT_MODALITIES") != "text")
    await live.start(agent, room=ctx.room, room_options=room_io.RoomOptions(audio_input=hears, audio_output=speaks))
    await Frontend(ctx.room.local_participant, ctl, session).start()


def check_start_up(argv: list[str], env: Mapping[str, str]) -> str:
    """Refuse, in one line, a command that cannot start; else the line saying which
    provider, endpoint and LiveKit server the worker uses (never a key)."""
    provider = choose_provider(env)
    check_config(provider, env)
    if persona := env.get("AGENT_PERSONA", "").strip():
        try:
            prompts.PromptLibrary(env.get("PROMPTS_DIR")).persona(persona)
        except prompts.PromptError as e:
            raise ConfigError(f"AGENT_PERSONA: {e}") from None
    command, asking_help = argv[0], "--help" in argv
    given = {v for v, flag in LIVEKIT_VARIABLES if env.get(v) or any(a.split("=")[0] == flag for a in argv)}
    missing = [v for v, _ in LIVEKIT_VARIABLES if v not in given]
    if command in ("dev", "start", "connect") and missing and not asking_help:
        raise ConfigError(
            f"`{command}` connects to a LiveKit server and needs {', '.join(missing)}; set them in the "
            "environment or .env.local (a local `livekit-server --dev` is ws://localhost:7880, devkey, secret)"
        )
    if command == "console" and not asking_help and (problem := audio_device_problem(argv[1:])):
        raise ConfigError(problem)
    line = describe_endpoint(provider, env)
    if command != "console" and env.get("LIVEKIT_URL"):
        line += f"; LiveKit at {url_host(env['LIVEKIT_URL'])}"
    return line


def run_worker(argv: list[str]) -> int:
    """livekit's CLI, after the start-up checks; its exit code, or 1 if the worker failed."""
    env = load_env()
    print(check_start_up(argv, env), file=sys.stderr, flush=True)
    for variable, _ in LIVEKIT_VARIABLES:  # livekit's CLI reads only the environment
        if env.get(variable):
            os.environ.setdefault(variable, env[variable])
    sys.argv = [sys.argv[0], *argv]
    try:
        cli.run_app(server)
        code = 0
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else 0 if e.code is None else 1
    if server.failure is not None:
        print(f"error: the worker stopped: {server.failure}", file=sys.stderr)
        return code or 1
    return code


def audio_device_problem(options: list[str]) -> str | None:
    """Why ``console`` cannot start here, in one line, or None. LiveKit's console imports
    sounddevice, which raises OSError "PortAudio library not found" without the system
    library, and in audio mode needs a default microphone and speaker."""
    try:
        import sounddevice as sd
    except OSError:
        return (
            "`console` needs the PortAudio library, even with --text: install it (Debian/Ubuntu: apt-get install libportaudio2; "
            "macOS: brew install portaudio), or speak from files: python -m agent chat --audio-in TURN.wav"
        )
    if "--text" in options or "--list-devices" in options or any(o.startswith("--input-device") for o in options):
        return None
    try:
        sd.query_devices(kind="input")
        sd.query_devices(kind="output")
    except sd.PortAudioError:
        return (
            "`console` found no default microphone and speaker; choose them with --input-device and "
            "--output-device (see --list-devices), type with --text, or speak from files: python -m agent chat --audio-in TURN.wav"
        )
    return None

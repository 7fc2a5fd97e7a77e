"""The LiveKit worker: joins rooms as any LiveKit agent does (``dev``, ``start``,
``console``), and publishes the persona and the user's away state as participant
attributes so a frontend can show them."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import Mapping
from typing import Any

from livekit.agents import AgentServer, AgentSession, JobContext, cli

import prompts

from .session.control import SessionController
from .providers import ConfigError, Provider, check_config, choose_provider, describe_endpoint, load_env, url_host

logger = logging.getLogger("agent")

ATTR_PERSONA = "agent.persona"
ATTR_USER_STATE = "agent.user_state"

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


def session_attributes(ctl: SessionController, session: AgentSession) -> dict[str, str]:
    return {ATTR_PERSONA: ctl.persona_id, ATTR_USER_STATE: session.user_state}


@server.rtc_session()
async def entrypoint(ctx: JobContext) -> None:
    env = load_env()
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
    if command == "console" and not asking_help:
        try:
            import sounddevice  # noqa: F401  (livekit's console imports it, even with --text)
        except OSError:
            raise ConfigError(
                "`console` needs the PortAudio library, even with --text (Debian/Ubuntu: apt install "
                "libportaudio2; macOS: brew install portaudio); `python -m agent chat` needs neither"
            ) from None
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

"""Which model the agent runs on, from the environment or ``.env.local``.

OPENAI_API_KEY selects OpenAI Realtime, GOOGLE_API_KEY Gemini Live, ULTRAVOX_API_KEY
Ultravox, LLM_BASE_URL a pipeline with any OpenAI-compatible LLM; with none of them
the agent runs on the offline model. ``--provider`` (AGENT_PROVIDER) overrides the
choice; AWS Nova Sonic (``aws``) is only chosen that way, since AWS credentials in an
environment are usually there for something else. Each
provider's plugin is imported only when that provider is chosen, which keeps
the offline chat's start-up fast.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from livekit.agents import llm, tts

import prompts

from .env import ConfigError, load_env, read_env_file  # noqa: F401 (the ways in import them from here)
from .offline.model import OfflineLLM
from .offline.understanding import Understanding
from .session.capabilities import Behaviour, behaviour_for

PROVIDERS = ("offline", "pipeline", "openai", "google", "ultravox", "aws")
REALTIME = ("openai", "google", "ultravox", "aws")


def choose_provider(env: Mapping[str, str], override: str | None = None) -> str:
    name = (override or env.get("AGENT_PROVIDER") or "").strip().lower()
    if name:
        if name not in PROVIDERS:
            raise ConfigError(f"unknown provider {name!r}; choose one of: {', '.join(PROVIDERS)}")
        return name
    if env.get("OPENAI_API_KEY"):
        return "openai"
    if env.get("GOOGLE_API_KEY"):
        return "google"
    if env.get("ULTRAVOX_API_KEY"):
        return "ultravox"
    if env.get("LLM_BASE_URL"):
        return "pipeline"
    return "offline"


# what each provider cannot start without: (variable, what to put there)
REQUIRED: dict[str, tuple[tuple[str, str], ...]] = {
    "openai": (("OPENAI_API_KEY", "an OpenAI API key"),),
    "google": (("GOOGLE_API_KEY", "a Gemini API key"),),
    "pipeline": (("LLM_BASE_URL", "an OpenAI-compatible LLM, e.g. http://localhost:11434/v1 for Ollama"),),
    "ultravox": (("ULTRAVOX_API_KEY", "an Ultravox API key"),),
    # aws: boto3 finds credentials in several places (~/.aws, a profile, an instance role)
}

# where each provider's traffic goes: (what, the variable that redirects it, its default host)
ENDPOINTS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "openai": (("", "OPENAI_BASE_URL", "api.openai.com"),),
    "google": (("", "GOOGLE_BASE_URL", "generativelanguage.googleapis.com"),),
    "pipeline": (("LLM", "LLM_BASE_URL", ""), ("STT", "STT_BASE_URL", ""), ("TTS", "TTS_BASE_URL", "")),
    "ultravox": (("", "ULTRAVOX_BASE_URL", "api.ultravox.ai"),),
}


def check_config(name: str, env: Mapping[str, str]) -> None:
    """Refuse, in one line, a provider whose required variables are not set."""
    for variable, what in REQUIRED.get(name, ()):
        if not env.get(variable, "").strip():
            raise ConfigError(f"the {name} provider needs {variable} ({what}); set it in the environment or .env.local")


def describe_endpoint(name: str, env: Mapping[str, str]) -> str:
    """One line saying which provider runs and which hosts it talks to (never a key),
    with the variable that redirected each, so a base URL from .env.local is never a surprise."""
    if name == "offline":
        return "provider offline: the built-in model, no network"
    if name == "aws":  # the plugin's endpoint is fixed to the region's Bedrock runtime
        region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1"
        return f"provider aws: at bedrock-runtime.{region}.amazonaws.com"
    parts = []
    for what, variable, default in ENDPOINTS.get(name, ()):
        if env.get(variable):
            host = f"{url_host(env[variable])} (from {variable})"
        elif name == "pipeline" and what != "LLM" and env.get("OPENAI_API_KEY"):
            host = "api.openai.com"  # the pipeline's speech falls back to OpenAI
        elif default:
            host = default
        else:
            continue
        parts.append(f"{what} at {host}" if what else f"at {host}")
    return f"provider {name}: " + (", ".join(parts) if parts else "no endpoint configured")


def url_host(url: str) -> str:
    """host[:port] of a URL, without any user name or password in it."""
    try:
        split = urlsplit(url if "//" in url else f"//{url}")
        port = f":{split.port}" if split.port else ""
        return f"{split.hostname}{port}" if split.hostname else "an unreadable URL"
    except ValueError:
        return "an unreadable URL"


@dataclass
class Provider:
    """Builds the models for one provider. ``model_for(voices)`` makes a new
    instance each call: a fresh RealtimeModel means a fresh realtime session."""

    name: str
    env: Mapping[str, str] = field(repr=False)
    offline_hooks: tuple[Callable[[], Understanding], Callable[[], str]] | None = field(default=None, repr=False)
    # a session with audio: Whisper and Piper (the voice extra) wherever no STT/TTS endpoint is set
    offline_speech: bool = False
    made: list[Any] = field(default_factory=list, init=False, repr=False)  # closed by aclose()
    _router: tuple[Any, Understanding] | None = field(default=None, init=False, repr=False)

    @property
    def realtime(self) -> bool:
        return self.name in REALTIME

    def import_plugin(self) -> None:
        """livekit plugins register themselves on import, which must happen on the main thread."""
        if self.name in ("openai", "pipeline"):
            from livekit.plugins import openai  # noqa: F401
        elif self.name == "google":
            from livekit.plugins import google  # noqa: F401
        elif self.name == "ultravox":
            from livekit.plugins import ultravox  # noqa: F401
        elif self.name == "aws":
            _import_nova_sonic()

    @property
    def behaviour(self) -> Behaviour:
        # a realtime model reports its own capabilities; building one opens no connection
        return behaviour_for(self.name, self.model_for({}) if self.realtime else None)

    def understanding(self, library: prompts.PromptLibrary) -> Understanding:
        """The offline understanding over the library's trigger phrases, intent examples
        and persona aliases; rebuilt (in about 10 ms) only when the library reloads them."""
        triggers, personas = library.triggers(), tuple(library.personas().values())
        key = (id(triggers), id(library.load_yaml(prompts.EXAMPLES)), personas)
        if self._router is None or self._router[0] != key:
            aliases = {word: p.id for p in personas for word in (p.id, p.name, *p.aliases)}
            self._router = (key, Understanding(triggers, aliases, library.examples(), default_persona=prompts.DEFAULT_PERSONA))
        return self._router[1]

    def model_for(self, voices: Mapping[str, str]) -> llm.LLM | llm.RealtimeModel:
        model = self._build_model(voices)
        self.made.append(model)
        return model

    async def release(self, *made: Any) -> None:
        """Close models (and TTS) no agent uses any more: those of an agent handed off
        from, or of a fresh agent whose hand-off did not happen."""
        for thing in made:
            if thing is not None and any(thing is m for m in self.made):
                self.made[:] = [m for m in self.made if m is not thing]
                await thing.aclose()

    async def aclose(self) -> None:
        """Close every model made (their HTTP sessions); call after the AgentSession closed."""
        await self.release(*self.made)

    def _build_model(self, voices: Mapping[str, str]) -> llm.LLM | llm.RealtimeModel:
        env = self.env
        if self.name == "ultravox":
            return _ultravox_model(env, voices)
        if self.name == "aws":
            return _nova_sonic_model(env, voices)
        if self.name == "openai":
            from livekit.plugins import openai

            kwargs: dict[str, Any] = {"api_key": env.get("OPENAI_API_KEY") or "unset"}
            if env.get("OPENAI_BASE_URL"):
                kwargs["base_url"] = env["OPENAI_BASE_URL"]
            if env.get("OPENAI_REALTIME_MODEL"):
                kwargs["model"] = env["OPENAI_REALTIME_MODEL"]
            if voices.get("openai"):
                kwargs["voice"] = voices["openai"]
            if env.get("AGENT_MODALITIES") == "text":
                kwargs["modalities"] = ["text"]
            return openai.realtime.RealtimeModel(**kwargs)
        if self.name == "google":
            from google.genai import types
            from livekit.plugins import google

            kwargs = {"api_key": env.get("GOOGLE_API_KEY") or "unset"}
            if env.get("GEMINI_MODEL"):
                kwargs["model"] = env["GEMINI_MODEL"]
            if voices.get("google"):
                kwargs["voice"] = voices["google"]
            if env.get("GOOGLE_BASE_URL"):
                kwargs["http_options"] = types.HttpOptions(base_url=env["GOOGLE_BASE_URL"])
            model = google.realtime.RealtimeModel(**kwargs)
            if env.get("AGENT_MODALITIES") == "text" and "native-audio" not in model.model:
                # native-audio models refuse a TEXT-output setup (1007 "Cannot extract voices
                # from a non-audio request."); they answer in audio with a transcript instead
                model = google.realtime.RealtimeModel(**kwargs, modalities=[types.Modality.TEXT])
            return model
        if self.name == "pipeline":
            from livekit.plugins import openai

            if not env.get("LLM_BASE_URL"):
                raise ConfigError("the pipeline needs LLM_BASE_URL, e.g. http://localhost:11434/v1 for Ollama")
            return openai.LLM(
                model=env.get("LLM_MODEL", "llama3.1"),
                base_url=env["LLM_BASE_URL"],
                api_key=env.get("LLM_API_KEY") or "unset",
            )
        if self.offline_hooks is None:
            raise ConfigError("the offline model needs its router and offline line")
        router, line = self.offline_hooks
        return OfflineLLM(router=router, offline_line=line)

    def tts_for(self, voices: Mapping[str, str]) -> tts.TTS | None:
        """The pipeline's TTS in a persona's voice, where one is configured."""
        if (kwargs := self._speech_endpoint("TTS")) is None:
            return self.offline_tts(voices)
        from livekit.plugins import openai

        if self.env.get("TTS_MODEL"):
            kwargs["model"] = self.env["TTS_MODEL"]
        made = openai.TTS(voice=voices.get("tts") or "alloy", **kwargs)
        self.made.append(made)
        return made

    def stt(self) -> Any:
        if (kwargs := self._speech_endpoint("STT")) is None:
            return self.offline_stt()
        from livekit.plugins import openai

        return openai.STT(**kwargs)

    def speech_configured(self) -> bool:
        """Whether STT and TTS endpoints are set, so offline speech is not needed."""
        return self._speech_endpoint("STT") is not None and self._speech_endpoint("TTS") is not None

    def offline_tts(self, voices: Mapping[str, str]) -> tts.TTS | None:
        """Piper in the persona's ``offline`` voice, for a session with audio."""
        if not self.offline_speech or self.realtime:
            return None
        from .offline.speech import PiperTTS
        from .offline.voices import OfflineVoice

        made = PiperTTS(OfflineVoice.for_persona(voices.get("offline")), noise=self.env.get("PIPER_NOISE") != "0")
        self.made.append(made)
        return made

    def offline_stt(self) -> Any:
        if not self.offline_speech or self.realtime:
            return None
        from .offline.speech import WhisperSTT

        return WhisperSTT()

    def _speech_endpoint(self, prefix: str) -> dict[str, Any] | None:
        """Where the pipeline's STT or TTS lives (``{prefix}_BASE_URL``, else OpenAI), or None."""
        env = self.env
        if self.realtime or not (env.get(f"{prefix}_BASE_URL") or env.get("OPENAI_API_KEY")):
            return None
        kwargs: dict[str, Any] = {"api_key": env.get(f"{prefix}_API_KEY") or env.get("OPENAI_API_KEY") or "unset"}
        if env.get(f"{prefix}_BASE_URL"):
            kwargs["base_url"] = env[f"{prefix}_BASE_URL"]
        return kwargs


def _ultravox_model(env: Mapping[str, str], voices: Mapping[str, str]) -> llm.RealtimeModel:
    from . import ultravox_model

    kwargs: dict[str, Any] = {"api_key": env.get("ULTRAVOX_API_KEY") or "unset"}
    if env.get("ULTRAVOX_BASE_URL"):
        kwargs["base_url"] = env["ULTRAVOX_BASE_URL"]
    if env.get("ULTRAVOX_MODEL"):
        kwargs["model"] = env["ULTRAVOX_MODEL"]
    if voices.get("ultravox"):
        kwargs["voice"] = voices["ultravox"]
    if env.get("AGENT_MODALITIES") == "text":
        kwargs["output_medium"] = "text"
    return ultravox_model.realtime_model(**kwargs)


def _import_nova_sonic() -> Any:
    try:
        from livekit.plugins.aws.experimental import realtime
    except ImportError as e:  # the extra is marked python_version >= '3.12'
        raise ConfigError(
            "AWS Nova Sonic needs Python 3.12 or newer and the aws extra: pip install -e '.[aws]'"
            f" ({e.name or e})"
        ) from None
    return realtime


AWS_CREDENTIALS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE")


def _nova_sonic_model(env: Mapping[str, str], voices: Mapping[str, str]) -> llm.RealtimeModel:
    """The plugin takes no credentials: boto3 reads them from the process environment (or
    ~/.aws), so those given in .env.local are exported for it. The endpoint is fixed to the
    region's Bedrock runtime (AWS_REGION, default us-east-1)."""
    realtime = _import_nova_sonic()
    for name in AWS_CREDENTIALS:
        if env.get(name) and not os.environ.get(name):
            os.environ[name] = env[name]
    kwargs: dict[str, Any] = {}
    if region := env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION"):
        kwargs["region"] = region
    if env.get("NOVA_SONIC_MODEL"):
        kwargs["model"] = env["NOVA_SONIC_MODEL"]
    if voices.get("aws"):
        kwargs["voice"] = voices["aws"]
    return realtime.RealtimeModel(**kwargs)

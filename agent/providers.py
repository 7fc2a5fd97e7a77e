"""Which model the agent runs on, from the environment or ``.env.local``.

OPENAI_API_KEY selects OpenAI Realtime, GOOGLE_API_KEY Gemini Live, LLM_BASE_URL
a pipeline with any OpenAI-compatible LLM; with none of them the agent runs on
the offline model. ``--provider`` (AGENT_PROVIDER) overrides the choice. Each
provider's plugin is imported only when that provider is chosen, which keeps
the offline chat's start-up fast.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from livekit.agents import llm, tts

import prompts

from .offline.model import OfflineLLM
from .offline.router import Router
from .session.capabilities import Behaviour, behaviour_for

PROVIDERS = ("offline", "pipeline", "openai", "google")


class ConfigError(ValueError):
    pass


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines; comments, blank lines and `export ` prefixes allowed."""
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        line = line.removeprefix("export ").strip()
        key, sep, value = line.partition("=")
        if not sep or not key.strip().isidentifier():
            raise ConfigError(f"{path}:{number}: expected KEY=VALUE")
        values[key.strip()] = value.strip().strip("'\"")
    return values


def load_env(path: Path = Path(".env.local")) -> dict[str, str]:
    """The process environment over ``.env.local`` (the environment wins)."""
    return {**read_env_file(path), **os.environ}


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
    if env.get("LLM_BASE_URL"):
        return "pipeline"
    return "offline"


@dataclass
class Provider:
    """Builds the models for one provider. ``model_for(voices)`` makes a new
    instance each call: a fresh RealtimeModel means a fresh realtime session."""

    name: str
    env: Mapping[str, str] = field(repr=False)
    offline_hooks: tuple[Callable[[], Router], Callable[[], str]] | None = field(default=None, repr=False)
    # a session with audio: Whisper and Piper (the voice extra) wherever no STT/TTS endpoint is set
    offline_speech: bool = False
    made: list[Any] = field(default_factory=list, init=False, repr=False)  # closed by aclose()
    _router: tuple[Any, Router] | None = field(default=None, init=False, repr=False)

    @property
    def realtime(self) -> bool:
        return self.name in ("openai", "google")

    def import_plugin(self) -> None:
        """livekit plugins register themselves on import, which must happen on the main thread."""
        if self.name in ("openai", "pipeline"):
            from livekit.plugins import openai  # noqa: F401
        elif self.name == "google":
            from livekit.plugins import google  # noqa: F401

    @property
    def behaviour(self) -> Behaviour:
        # a realtime model reports its own capabilities; building one opens no connection
        return behaviour_for(self.name, self.model_for({}) if self.realtime else None)

    def understanding(self, library: prompts.PromptLibrary) -> Router:
        """The router over the library's trigger phrases and persona aliases; rebuilt
        only when the library reloads them."""
        triggers, personas = library.triggers(), tuple(library.personas().values())
        key = (id(triggers), personas)
        if self._router is None or self._router[0] != key:
            aliases = {word: p.id for p in personas for word in (p.id, p.name, *p.aliases)}
            self._router = (key, Router(triggers, aliases))
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

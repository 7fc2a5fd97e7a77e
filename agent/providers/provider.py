"""The provider a session runs on: builds its models (a new one each call), its speech,
and closes what it made."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from livekit.agents import llm, tts

import prompts

from ..offline.understanding import Understanding
from ..session.capabilities import Behaviour, behaviour_for
from . import aws, google, offline, openai, pipeline, ultravox
from .registry import REALTIME


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
            aws.import_plugin()

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
            return ultravox.build_model(env, voices)
        if self.name == "aws":
            return aws.build_model(env, voices)
        if self.name == "openai":
            return openai.build_model(env, voices)
        if self.name == "google":
            return google.build_model(env, voices)
        if self.name == "pipeline":
            return pipeline.build_model(env, voices)
        return offline.build_model(self.offline_hooks)

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
        from ..offline.speech import PiperTTS
        from ..offline.voices import OfflineVoice

        made = PiperTTS(OfflineVoice.for_persona(voices.get("offline")), noise=self.env.get("PIPER_NOISE") != "0")
        self.made.append(made)
        return made

    def offline_stt(self) -> Any:
        if not self.offline_speech or self.realtime:
            return None
        from ..offline.speech import WhisperSTT

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

"""The provider a session runs on: what its spec (its module's ``SPEC``) builds, a new
model each call, the speech of a model that neither hears nor speaks, and closing all
it made."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from livekit.agents import llm, tts

import prompts

from ..offline.understanding import Understanding
from ..session.capabilities import Changeable
from ..session.confirmations import Confirmations
from ..session.model_source import ModelHooks
from . import speech
from .registry import changeable_for, spec_for
from .spec import ProviderSpec


@dataclass
class Provider:
    """Builds the models for one provider. ``model_for(voices, hooks)`` makes a new
    instance each call: a fresh RealtimeModel means a fresh realtime session. ``hooks``
    (the controller) reach the model only where it asks for them (the offline model)."""

    name: str
    env: Mapping[str, str] = field(repr=False)
    # a session with audio: Whisper and Piper (the voice extra) wherever no STT/TTS endpoint is set
    offline_speech: bool = False
    made: list[Any] = field(default_factory=list, init=False, repr=False)  # closed by aclose()
    _router: tuple[Any, Understanding] | None = field(default=None, init=False, repr=False)

    @property
    def spec(self) -> ProviderSpec:
        return spec_for(self.name)

    @property
    def realtime(self) -> bool:
        return self.spec.realtime

    @property
    def voice_key(self) -> str | None:
        """The key in a persona's ``voices:`` that its model is built with."""
        return self.spec.voice_key

    def import_plugin(self) -> None:
        """livekit plugins register themselves on import, which must happen on the main thread."""
        self.spec.import_plugin()

    @property
    def changeable(self) -> Changeable:
        # a realtime model reports its own capabilities; building one opens no connection
        return changeable_for(self.name, self.model_for({}) if self.realtime else None)

    def confirmations(self, rt_session: Any) -> Confirmations:
        """What the provider answers to the updates made on ``rt_session`` (``with`` block)."""
        return self.spec.confirmations(rt_session)

    def watch_audio(self, rt_session: Any, produced: Callable[[], None]) -> None:
        """Call ``produced`` whenever ``rt_session`` produces audio (where the provider tells)."""
        self.spec.watch_audio(rt_session, produced)

    def understanding(self, library: prompts.PromptLibrary) -> Understanding:
        """The offline understanding over the library's trigger phrases, intent examples
        and persona aliases; rebuilt (in about 10 ms) only when the library reloads them."""
        triggers, personas = library.triggers(), tuple(library.personas().values())
        key = (id(triggers), id(library.load_yaml(prompts.EXAMPLES)), personas)
        if self._router is None or self._router[0] != key:
            aliases = {word: p.id for p in personas for word in (p.id, p.name, *p.aliases)}
            self._router = (key, Understanding(triggers, aliases, library.examples(), default_persona=prompts.DEFAULT_PERSONA))
        return self._router[1]

    def model_for(self, voices: Mapping[str, str], hooks: ModelHooks | None = None) -> llm.LLM | llm.RealtimeModel:
        return self._keep(self._build_model(voices, hooks))

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

    def _build_model(self, voices: Mapping[str, str], hooks: ModelHooks | None = None) -> llm.LLM | llm.RealtimeModel:
        return self.spec.build_model(self.env, voices, hooks)

    def _keep(self, made: Any) -> Any:
        self.made.append(made)
        return made

    def tts_for(self, voices: Mapping[str, str]) -> tts.TTS | None:
        """The TTS in a persona's voice where one is configured (speech.py), else Piper
        with offline speech; None for a realtime model, which speaks for itself."""
        if (kwargs := self._speech_endpoint("TTS")) is None:
            return self.offline_tts(voices)
        return self._keep(speech.endpoint_tts(self.env, kwargs, voices))

    def stt(self) -> Any:
        if (kwargs := self._speech_endpoint("STT")) is None:
            return self.offline_stt()
        return speech.endpoint_stt(kwargs)

    def speech_configured(self) -> bool:
        """Whether STT and TTS endpoints are set, so offline speech is not needed."""
        return self._speech_endpoint("STT") is not None and self._speech_endpoint("TTS") is not None

    def offline_tts(self, voices: Mapping[str, str]) -> tts.TTS | None:
        """Piper in the persona's ``offline`` voice, for a session with audio."""
        if not self.offline_speech or self.realtime:
            return None
        return self._keep(speech.piper(self.env, voices))

    def offline_stt(self) -> Any:
        if not self.offline_speech or self.realtime:
            return None
        return speech.whisper()

    def _speech_endpoint(self, prefix: str) -> dict[str, Any] | None:
        return None if self.realtime else speech.endpoint(self.env, prefix)

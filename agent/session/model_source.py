"""What the mechanism needs from a provider (``agent/providers/`` builds the real
one): a Protocol, so the mechanism never imports the way it is built."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

from livekit.agents import llm, tts

import prompts

from .capabilities import Changeable
from .confirmations import Confirmations


class RequestReader(Protocol):
    """Reads the user's words: which tool they asked for, and whether they are back."""

    def route(self, text: str) -> Any: ...

    def is_return(self, text: str, addressed_as: Iterable[str] = ()) -> bool: ...


class ModelHooks(Protocol):
    """What a model built into the agent may ask of the session, each turn: the
    understanding of the user's words, and the line it answers with otherwise. The
    controller passes itself; a provider's model that needs neither ignores them."""

    def router(self) -> RequestReader: ...

    def offline_line(self) -> str: ...


class ModelSource(Protocol):
    name: str

    @property
    def realtime(self) -> bool: ...

    @property
    def changeable(self) -> Changeable: ...

    @property
    def voice_key(self) -> str | None:
        """The key in a persona's ``voices:`` that its model is built with."""
        ...

    def confirmations(self, rt_session: Any) -> Confirmations:
        """What the provider answers to the updates made on a realtime session (``with`` block)."""
        ...

    def watch_audio(self, rt_session: Any, produced: Callable[[], None]) -> None:
        """Call ``produced`` whenever the realtime session produces audio, where the provider tells."""
        ...

    def model_for(self, voices: Mapping[str, str], hooks: ModelHooks | None = None) -> llm.LLM | llm.RealtimeModel:
        """A new model each call: a fresh RealtimeModel is a fresh realtime session."""
        ...

    def tts_for(self, voices: Mapping[str, str]) -> tts.TTS | None: ...

    def understanding(self, library: prompts.PromptLibrary) -> RequestReader: ...

    async def release(self, *made: Any) -> None: ...

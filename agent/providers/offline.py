"""The offline model: no keys, no network. It reads requests with the offline
understanding and answers with the persona's offline line (agent/offline/); its speech
is speech.py's."""

from __future__ import annotations

from collections.abc import Mapping

from ..env import ConfigError
from ..offline.model import OfflineLLM
from ..session.capabilities import Changeable
from ..session.model_source import ModelHooks
from .spec import ProviderSpec


def build_model(env: Mapping[str, str], voices: Mapping[str, str], hooks: ModelHooks | None = None) -> OfflineLLM:
    """Asks the session (``hooks``, the controller) each turn for its understanding and its line."""
    if hooks is None:
        raise ConfigError("the offline model needs its router and offline line")
    return OfflineLLM(router=hooks.router, offline_line=hooks.offline_line)


def describe(env: Mapping[str, str]) -> str:
    return "provider offline: the built-in model, no network"


SPEC = ProviderSpec(
    name="offline",
    realtime=False,
    # the prompt is rebuilt each turn and TTS voices swap freely
    changeable=Changeable(instructions_live=True, context_live=True, voice="live"),
    build_model=build_model,
    voice_key="offline",
    describe=describe,
)

"""The offline model: no keys, no network. It reads requests with the offline
understanding and answers with the persona's offline line (agent/offline/); its speech
is speech.py's."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ..env import ConfigError
from ..offline.model import OfflineLLM
from ..session.capabilities import Behaviour
from .spec import ProviderSpec


def build_model(
    env: Mapping[str, str], voices: Mapping[str, str], hooks: tuple[Callable[[], Any], Callable[[], str]] | None = None
) -> OfflineLLM:
    if hooks is None:
        raise ConfigError("the offline model needs its router and offline line")
    router, line = hooks
    return OfflineLLM(router=router, offline_line=line)


def describe(env: Mapping[str, str]) -> str:
    return "provider offline: the built-in model, no network"


SPEC = ProviderSpec(
    name="offline",
    realtime=False,
    # the prompt is rebuilt each turn and TTS voices swap freely
    behaviour=Behaviour(instructions_live=True, context_live=True, voice="live"),
    build_model=build_model,
    voice_key="offline",
    describe=describe,
)

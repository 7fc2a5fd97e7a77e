"""An STT-LLM-TTS pipeline with any OpenAI-compatible LLM (Ollama, vLLM, a llama.cpp
server); its speech is speech.py's."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from livekit.agents import llm

from ..env import ConfigError
from ..session.capabilities import Changeable
from . import openai, speech
from .spec import Endpoint, ProviderSpec


def build_model(env: Mapping[str, str], voices: Mapping[str, str], hooks: Any = None) -> llm.LLM:
    if not env.get("LLM_BASE_URL"):
        raise ConfigError("the pipeline needs LLM_BASE_URL, e.g. http://localhost:11434/v1 for Ollama")
    return openai.compatible_llm(
        model=env.get("LLM_MODEL", "llama3.1"),
        base_url=env["LLM_BASE_URL"],
        api_key=env.get("LLM_API_KEY") or "unset",
    )


SPEC = ProviderSpec(
    name="pipeline",
    realtime=False,
    # the prompt is rebuilt each turn and TTS voices swap freely
    changeable=Changeable(instructions_live=True, context_live=True, voice="live"),
    build_model=build_model,
    settings=("LLM_BASE_URL", "LLM_MODEL", "LLM_API_KEY"),
    required=(("LLM_BASE_URL", "an OpenAI-compatible LLM, e.g. http://localhost:11434/v1 for Ollama"),),
    endpoints=(Endpoint("LLM", "LLM_BASE_URL"), *speech.ENDPOINTS),
    import_plugin=openai.import_plugin,
)

"""An STT-LLM-TTS pipeline with any OpenAI-compatible LLM."""

from __future__ import annotations

from collections.abc import Mapping

from livekit.agents import llm

from ..env import ConfigError


def build_model(env: Mapping[str, str], voices: Mapping[str, str]) -> llm.LLM:
    from livekit.plugins import openai

    if not env.get("LLM_BASE_URL"):
        raise ConfigError("the pipeline needs LLM_BASE_URL, e.g. http://localhost:11434/v1 for Ollama")
    return openai.LLM(
        model=env.get("LLM_MODEL", "llama3.1"),
        base_url=env["LLM_BASE_URL"],
        api_key=env.get("LLM_API_KEY") or "unset",
    )

"""OpenAI Realtime."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from livekit.agents import llm


def build_model(env: Mapping[str, str], voices: Mapping[str, str]) -> llm.RealtimeModel:
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

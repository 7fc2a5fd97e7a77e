"""Gemini Live on the Gemini API (not Vertex)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from livekit.agents import llm

from ..session.capabilities import Changeable
from .settings import plugin_options
from .spec import Endpoint, ProviderSpec


def import_plugin() -> None:
    from livekit.plugins import google  # noqa: F401


def build_model(env: Mapping[str, str], voices: Mapping[str, str], hooks: Any = None) -> llm.RealtimeModel:
    from google.genai import types
    from livekit.plugins import google

    kwargs = plugin_options(env, voices, api_key="GOOGLE_API_KEY", voice_key="google", model="GEMINI_MODEL")
    if env.get("GOOGLE_BASE_URL"):
        kwargs["http_options"] = types.HttpOptions(base_url=env["GOOGLE_BASE_URL"])
    model = google.realtime.RealtimeModel(**kwargs)
    if env.get("AGENT_MODALITIES") == "text" and "native-audio" not in model.model:
        # native-audio models refuse a TEXT-output setup (1007 "Cannot extract voices
        # from a non-audio request."); they answer in audio with a transcript instead
        model = google.realtime.RealtimeModel(**kwargs, modalities=[types.Modality.TEXT])
    return model


SPEC = ProviderSpec(
    name="google",
    realtime=True,
    # Gemini API (not Vertex): instructions are appended as a model turn, removals are ignored
    changeable=Changeable(instructions_live=False, context_live=False, voice="reconnect"),
    build_model=build_model,
    voice_key="google",
    settings=("GOOGLE_API_KEY", "GOOGLE_BASE_URL", "GEMINI_MODEL"),
    required=(("GOOGLE_API_KEY", "a Gemini API key"),),
    endpoints=(Endpoint("", "GOOGLE_BASE_URL", "generativelanguage.googleapis.com"),),
    import_plugin=import_plugin,
)

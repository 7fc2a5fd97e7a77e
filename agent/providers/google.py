"""Gemini Live on the Gemini API."""

from __future__ import annotations

from collections.abc import Mapping

from livekit.agents import llm


def build_model(env: Mapping[str, str], voices: Mapping[str, str]) -> llm.RealtimeModel:
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

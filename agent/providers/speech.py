"""Speech for a provider whose model neither hears nor speaks (the pipeline, the offline
model): OpenAI-compatible STT and TTS where an endpoint is set (``STT_BASE_URL`` /
``TTS_BASE_URL``, else OpenAI's own with OPENAI_API_KEY), otherwise Whisper and Piper
(the voice extra) in a session with audio."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from livekit.agents import stt, tts

from . import openai
from .spec import Endpoint

SETTINGS = ("STT_BASE_URL", "STT_API_KEY", "TTS_BASE_URL", "TTS_MODEL", "TTS_API_KEY")
VOICE_KEYS = ("tts", "offline")  # a persona's voice at the TTS endpoint, and its Piper voice
ENDPOINTS = (
    Endpoint("STT", "STT_BASE_URL", "api.openai.com", default_if="OPENAI_API_KEY"),
    Endpoint("TTS", "TTS_BASE_URL", "api.openai.com", default_if="OPENAI_API_KEY"),
)


def endpoint(env: Mapping[str, str], prefix: str) -> dict[str, Any] | None:
    """Where STT or TTS lives (``{prefix}_BASE_URL``, else OpenAI), or None."""
    if not (env.get(f"{prefix}_BASE_URL") or env.get("OPENAI_API_KEY")):
        return None
    kwargs: dict[str, Any] = {"api_key": env.get(f"{prefix}_API_KEY") or env.get("OPENAI_API_KEY") or "unset"}
    if env.get(f"{prefix}_BASE_URL"):
        kwargs["base_url"] = env[f"{prefix}_BASE_URL"]
    return kwargs


def endpoint_tts(env: Mapping[str, str], kwargs: dict[str, Any], voices: Mapping[str, str]) -> tts.TTS:
    if env.get("TTS_MODEL"):
        kwargs["model"] = env["TTS_MODEL"]
    return openai.compatible_tts(voice=voices.get("tts") or "alloy", **kwargs)


def endpoint_stt(kwargs: dict[str, Any]) -> stt.STT:
    return openai.compatible_stt(**kwargs)


def piper(env: Mapping[str, str], voices: Mapping[str, str]) -> tts.TTS:
    """Piper in the persona's ``offline`` voice."""
    from ..offline.speech import PiperTTS
    from ..offline.voices import OfflineVoice

    return PiperTTS(OfflineVoice.for_persona(voices.get("offline")), noise=env.get("PIPER_NOISE") != "0")


def whisper() -> stt.STT:
    from ..offline.speech import WhisperSTT

    return WhisperSTT()

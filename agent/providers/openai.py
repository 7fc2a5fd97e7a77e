"""OpenAI Realtime, and the OpenAI-compatible clients (Chat Completions, speech) the
pipeline and the offline model's speech use: the one home of ``livekit.plugins.openai``."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from livekit.agents import llm, stt, tts

from ..session.capabilities import Changeable
from .openai_answers import ServerAnswers
from .settings import plugin_options
from .spec import Endpoint, ProviderSpec


def import_plugin() -> None:
    from livekit.plugins import openai  # noqa: F401


def build_model(env: Mapping[str, str], voices: Mapping[str, str], hooks: Any = None) -> llm.RealtimeModel:
    from livekit.plugins import openai

    kwargs = plugin_options(
        env, voices, api_key="OPENAI_API_KEY", voice_key="openai", base_url="OPENAI_BASE_URL", model="OPENAI_REALTIME_MODEL"
    )
    if env.get("AGENT_MODALITIES") == "text":
        kwargs["modalities"] = ["text"]
    return openai.realtime.RealtimeModel(**kwargs)


def watch_audio(rt_session: Any, produced: Callable[[], None]) -> None:
    """The service refuses a new voice once the session produced audio (``cannot_update_voice``):
    the plugin re-emits each server event, and audio arrives as ``*audio.delta``."""

    def on_event(event: dict[str, Any]) -> None:
        if event.get("type", "").endswith("audio.delta"):
            produced()

    rt_session.on("openai_server_event_received", on_event)


def compatible_llm(**kwargs: Any) -> llm.LLM:
    """An OpenAI-compatible Chat Completions LLM (Ollama, vLLM, a llama.cpp server, ...)."""
    from livekit.plugins import openai

    return openai.LLM(**kwargs)


def compatible_tts(**kwargs: Any) -> tts.TTS:
    from livekit.plugins import openai

    return openai.TTS(**kwargs)


def compatible_stt(**kwargs: Any) -> stt.STT:
    from livekit.plugins import openai

    return openai.STT(**kwargs)


SPEC = ProviderSpec(
    name="openai",
    realtime=True,
    # session.update and conversation.item.delete work; the voice is fixed once audio was produced
    changeable=Changeable(instructions_live=True, context_live=True, voice="before_audio"),
    build_model=build_model,
    voice_key="openai",
    settings=("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_REALTIME_MODEL"),
    required=(("OPENAI_API_KEY", "an OpenAI API key"),),
    endpoints=(Endpoint("", "OPENAI_BASE_URL", "api.openai.com"),),
    import_plugin=import_plugin,
    confirmations=ServerAnswers,  # the plugin re-emits the service's answer to each update
    watch_audio=watch_audio,
)

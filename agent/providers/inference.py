"""LiveKit Inference: hosted realtime models named by string ("openai/gpt-realtime"),
reached with only the LiveKit credentials (``livekit.agents.inference.realtime``, the
one home of that import). Only chosen by name (``--provider inference``): the LiveKit
credentials are set on every worker.

Its ``RealtimeModel`` runs the same OpenAI Realtime engine as the OpenAI plugin
(``livekit.agents.llm._realtime.openai``; it no longer subclasses the plugin's class) and
changes only the connection: a LiveKit access token as the bearer, the gateway as the
base URL, no ``model`` in ``session.update``. For openai/* models every other path is the
engine's, so the row, the confirmations (``openai_server_event_received``) and the audio
watch are OpenAI's. google/* and xai/* models go through other code paths there (xAI's
transcripts, deletes answered without an item id) and are refused until they are tested.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from livekit.agents import llm
from livekit.agents.inference import is_duplex_model

from ..env import ConfigError
from ..session.capabilities import Changeable
from .openai import watch_audio
from .openai_answers import ServerAnswers
from .settings import plugin_options
from .spec import Endpoint, ProviderSpec

DEFAULT_MODEL = "openai/gpt-realtime"
GATEWAY_HOST = "agent-gateway.livekit.cloud"  # livekit/agents/inference/_utils.py DEFAULT_INFERENCE_URL


def model_name(env: Mapping[str, str]) -> str:
    return env.get("INFERENCE_MODEL", "").strip() or DEFAULT_MODEL


def check(env: Mapping[str, str]) -> None:
    model = model_name(env)
    if not model.startswith("openai/"):
        raise ConfigError(f"INFERENCE_MODEL={model}: only openai/* models are supported by the inference provider so far")
    if is_duplex_model(model):  # GPT-Live: inference.DuplexModel, another protocol
        raise ConfigError(f"INFERENCE_MODEL={model}: a duplex model (GPT-Live), not supported by the inference provider yet")


def import_plugin() -> None:
    from livekit.agents.inference import realtime  # noqa: F401  (imports the openai SDK's types: ~1 s)


def build_model(env: Mapping[str, str], voices: Mapping[str, str], hooks: Any = None) -> llm.RealtimeModel:
    from livekit.agents.inference.realtime import RealtimeModel

    check(env)
    kwargs = plugin_options(
        env, voices, api_key="LIVEKIT_API_KEY", voice_key="openai", api_secret="LIVEKIT_API_SECRET", base_url="LIVEKIT_INFERENCE_URL"
    )
    kwargs.setdefault("api_secret", "unset")  # as the key: the start-up check refused a missing one
    # given always, so the start-up line is where it goes (the library would also follow a staging LIVEKIT_URL)
    kwargs.setdefault("base_url", f"https://{GATEWAY_HOST}/v1")
    if env.get("AGENT_MODALITIES") == "text":
        kwargs["modalities"] = ["text"]
    return RealtimeModel(model_name(env), **kwargs)


SPEC = ProviderSpec(
    name="inference",
    realtime=True,
    # openai/* only: OpenAI Realtime's row (session.update and conversation.item.delete go
    # through the gateway; the voice is fixed once audio was produced)
    changeable=Changeable(instructions_live=True, context_live=True, voice="before_audio"),
    build_model=build_model,
    voice_key="openai",  # the same OpenAI voices
    settings=("LIVEKIT_API_KEY", "LIVEKIT_API_SECRET", "LIVEKIT_INFERENCE_URL", "INFERENCE_MODEL"),
    required=(
        ("LIVEKIT_API_KEY", "your LiveKit Cloud project's API key"),
        ("LIVEKIT_API_SECRET", "your LiveKit Cloud project's API secret"),
    ),
    endpoints=(Endpoint("", "LIVEKIT_INFERENCE_URL", GATEWAY_HOST),),
    check=check,
    import_plugin=import_plugin,
    confirmations=ServerAnswers,  # the engine re-emits every server event, as for OpenAI
    watch_audio=watch_audio,
)

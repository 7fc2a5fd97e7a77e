"""What each provider needs before it starts, and the start-up line saying where it goes."""

from __future__ import annotations

import pytest

from agent.providers import ENDPOINTS, PROVIDERS, REQUIRED, SPECS, ConfigError, check_config, describe_endpoint, registry
from prompts.persona import VOICE_KEYS


def test_every_table_entry_names_a_provider() -> None:
    assert set(REQUIRED) <= set(PROVIDERS) and set(ENDPOINTS) <= set(PROVIDERS)


@pytest.mark.parametrize("name", [p for p in PROVIDERS if p in REQUIRED])
def test_a_missing_or_blank_variable_is_named(name: str) -> None:
    variable = REQUIRED[name][0][0]
    for env in ({}, {variable: "  "}):
        with pytest.raises(ConfigError, match=f"the {name} provider needs {variable} "):
            check_config(name, env)
    check_config(name, {v: "x" for v, _ in REQUIRED[name]})


def test_the_line_names_hosts_and_the_variable_that_redirected_them_never_a_secret() -> None:
    env = {"OPENAI_API_KEY": "sk-secret", "OPENAI_BASE_URL": "https://user:hunter2@proxy.example:8443/v1"}
    line = describe_endpoint("openai", env)
    assert line == "provider openai: at proxy.example:8443 (from OPENAI_BASE_URL)"
    assert describe_endpoint("google", {"GOOGLE_API_KEY": "k"}) == "provider google: at generativelanguage.googleapis.com"
    pipeline = {"LLM_BASE_URL": "http://localhost:11434/v1", "TTS_BASE_URL": "http://tts.lan:8880/v1", "OPENAI_API_KEY": "sk"}
    assert describe_endpoint("pipeline", pipeline) == (
        "provider pipeline: LLM at localhost:11434 (from LLM_BASE_URL), STT at api.openai.com, "
        "TTS at tts.lan:8880 (from TTS_BASE_URL)"
    )
    assert describe_endpoint("offline", {}) == "provider offline: the built-in model, no network"
    assert describe_endpoint("ultravox", {"ULTRAVOX_API_KEY": "k"}) == "provider ultravox: at api.ultravox.ai"
    assert describe_endpoint("ultravox", {"ULTRAVOX_BASE_URL": "http://127.0.0.1:9/api"}) == (
        "provider ultravox: at 127.0.0.1:9 (from ULTRAVOX_BASE_URL)"
    )
    # the Nova Sonic plugin's endpoint (experimental/realtime/realtime_model.py) follows the region
    assert describe_endpoint("aws", {"AWS_REGION": "eu-north-1"}) == "provider aws: at bedrock-runtime.eu-north-1.amazonaws.com"
    # the default of livekit/agents/inference/_utils.py, DEFAULT_INFERENCE_URL
    assert describe_endpoint("inference", {"LIVEKIT_API_KEY": "k"}) == "provider inference: at agent-gateway.livekit.cloud"


def test_inference_is_chosen_only_by_name_and_runs_only_openai_models() -> None:
    livekit = {"LIVEKIT_API_KEY": "k", "LIVEKIT_API_SECRET": "s"}  # on every worker
    assert registry.choose_provider(livekit) == "offline" and registry.choose_provider(livekit, "inference") == "inference"
    check_config("inference", livekit | {"INFERENCE_MODEL": "openai/gpt-realtime-2.1"})
    for model in ("google/gemini-3.8-live", "xai/grok-voice-3.0"):
        with pytest.raises(ConfigError, match=rf"^INFERENCE_MODEL={model}: only openai/\* models are supported by the inference provider so far$"):
            check_config("inference", livekit | {"INFERENCE_MODEL": model})
    with pytest.raises(ConfigError, match="duplex"):
        check_config("inference", livekit | {"INFERENCE_MODEL": "openai/gpt-live-1"})


def test_the_registry_agrees_with_itself_and_with_the_persona_files() -> None:
    assert [s.name for s in SPECS] == list(PROVIDERS) and registry.FALLBACK in PROVIDERS
    # chosen without --provider only by what it cannot start without
    assert all(REQUIRED.get(name) for name in registry.AUTOMATIC)
    # prompts/ knows nothing of the providers, so it keeps its own list of the keys a persona's voices may use
    assert sorted(VOICE_KEYS) == sorted(registry.VOICE_KEYS)

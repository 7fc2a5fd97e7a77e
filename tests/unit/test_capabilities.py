"""The change strategy follows livekit's reported capabilities and the table of known gaps."""

from __future__ import annotations

import pytest

from agent.providers import KNOWN, ConfigError, Provider, changeable_for, choose_provider, read_env_file
from agent.session.strategies import InPlace, Realtime, strategy_for


def test_gemini_never_claims_live_instructions_or_context() -> None:
    model = Provider("google", {"GOOGLE_API_KEY": "k"}).model_for({})
    b = changeable_for("google", model)
    assert (b.instructions_live, b.context_live, b.voice) == (False, False, "reconnect")


def test_openai_updates_in_place_but_voice_only_before_audio() -> None:
    model = Provider("openai", {"OPENAI_API_KEY": "k"}).model_for({})
    assert model.capabilities.mutable_instructions and model.capabilities.mutable_chat_context
    b = changeable_for("openai", model)
    assert (b.instructions_live, b.context_live, b.voice) == (True, True, "before_audio")


def test_an_unknown_realtime_model_trusts_only_livekit_and_never_changes_voice() -> None:
    model = Provider("openai", {"OPENAI_API_KEY": "k"}).model_for({})
    b = changeable_for("someone-else", model)
    assert b.voice == "none"
    assert b.instructions_live == model.capabilities.mutable_instructions


def test_strategy_per_provider() -> None:
    assert isinstance(strategy_for(Provider("pipeline", {"LLM_BASE_URL": "http://127.0.0.1:1/v1"}), KNOWN["pipeline"]), InPlace)
    assert isinstance(strategy_for(Provider("google", {}), KNOWN["google"]), Realtime)


@pytest.mark.parametrize(
    ("env", "override", "expected"),
    [
        ({}, None, "offline"),
        ({"OPENAI_API_KEY": "k", "GOOGLE_API_KEY": "g"}, None, "openai"),
        ({"GOOGLE_API_KEY": "g", "LLM_BASE_URL": "http://x"}, None, "google"),
        ({"LLM_BASE_URL": "http://x"}, None, "pipeline"),
        ({"OPENAI_API_KEY": "k"}, "offline", "offline"),
        ({"AGENT_PROVIDER": "Google"}, None, "google"),
    ],
)
def test_choose_provider(env: dict, override: str | None, expected: str) -> None:
    assert choose_provider(env, override) == expected


def test_unknown_provider_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match="offline, pipeline, openai, google"):
        choose_provider({}, "anthropic")


def test_env_file(tmp_path) -> None:
    path = tmp_path / ".env.local"
    path.write_text("# keys\nexport OPENAI_API_KEY='sk-1'\n\nLLM_MODEL = llama3\n")
    assert read_env_file(path) == {"OPENAI_API_KEY": "sk-1", "LLM_MODEL": "llama3"}
    path.write_text("not a pair\n")
    with pytest.raises(ConfigError, match=r"\.env\.local:1"):
        read_env_file(path)

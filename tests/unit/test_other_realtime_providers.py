"""Ultravox and AWS Nova Sonic: chosen like the other providers, changed only through a
fresh session, as their plugins' own capabilities say.

Nova Sonic's plugin needs Python 3.12 (its smithy dependencies); on an older interpreter
its tests here check the clear error, and ``.ci/run`` runs them again on 3.12.
"""

from __future__ import annotations

import os
import sys

import pytest

from agent.providers import PROVIDERS, ConfigError, Provider, changeable_for, choose_provider
from agent.session.strategies import Realtime, strategy_for

ON_312 = sys.version_info >= (3, 12)


@pytest.mark.parametrize(
    ("env", "override", "expected"),
    [
        ({"ULTRAVOX_API_KEY": "k"}, None, "ultravox"),
        ({"GOOGLE_API_KEY": "g", "ULTRAVOX_API_KEY": "k"}, None, "google"),
        ({"ULTRAVOX_API_KEY": "k", "LLM_BASE_URL": "http://x"}, None, "ultravox"),
        # AWS credentials are often there for something else: Nova Sonic only when asked
        ({"AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "s"}, None, "offline"),
        ({"AWS_ACCESS_KEY_ID": "a"}, "aws", "aws"),
        ({"AGENT_PROVIDER": "Ultravox"}, None, "ultravox"),
    ],
)
def test_choose_provider(env: dict, override: str | None, expected: str) -> None:
    assert choose_provider(env, override) == expected


def test_both_are_realtime_providers() -> None:
    assert {"ultravox", "aws"} <= set(PROVIDERS)
    assert Provider("ultravox", {}).realtime and Provider("aws", {}).realtime


def test_ultravox_model_from_the_environment() -> None:
    env = {"ULTRAVOX_API_KEY": "uv-1", "ULTRAVOX_BASE_URL": "http://127.0.0.1:9/api", "ULTRAVOX_MODEL": "fixie-ai/ultravox-llama3.3-70b"}
    # (key, base URL and voice are asserted on the wire: tests/wire/ultravox/test_session_control_ultravox.py)
    model = Provider("ultravox", env).model_for({"ultravox": "Mark", "openai": "ash"})
    assert model.model == env["ULTRAVOX_MODEL"] and model.capabilities.audio_output
    text = Provider("ultravox", {**env, "AGENT_MODALITIES": "text"}).model_for({})
    assert not text.capabilities.audio_output


def test_ultravox_changes_only_through_a_fresh_call() -> None:
    model = Provider("ultravox", {"ULTRAVOX_API_KEY": "k"}).model_for({})
    caps = model.capabilities  # the plugin's own: realtime_model.py RealtimeModel.__init__
    assert not caps.mutable_instructions and not caps.mutable_chat_context and caps.supports_say
    b = changeable_for("ultravox", model)
    assert (b.instructions_live, b.context_live, b.voice) == (False, False, "reconnect")
    strategy = strategy_for(Provider("ultravox", {}), b)
    assert isinstance(strategy, Realtime) and strategy.forget_hands_off


def test_the_ultravox_events_keep_what_the_plugin_sets() -> None:
    Provider("ultravox", {"ULTRAVOX_API_KEY": "k"}).model_for({})  # building one applies the fix
    from livekit.plugins.ultravox.realtime import ClientToolResultEvent, UserTextMessageEvent

    # built exactly as the plugin builds them (update_chat_ctx, interrupt, generate_reply)
    deferred = UserTextMessageEvent(text="I like tea", defer_response=True)
    quiet = ClientToolResultEvent(invocationId="i-1", agent_reaction="listens")
    assert deferred.model_dump(by_alias=True, exclude_none=True)["deferResponse"] is True
    assert quiet.model_dump(by_alias=True, exclude_none=True)["agentReaction"] == "listens"


@pytest.mark.skipif(ON_312, reason="Python 3.12 runs the plugin instead")
def test_nova_sonic_before_python_312_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match="Python 3.12"):
        Provider("aws", {}).model_for({})


@pytest.mark.skipif(not ON_312, reason="livekit-plugins-aws[realtime] needs Python 3.12")
def test_nova_sonic_changes_only_through_a_fresh_session(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID", raising=False)
    env = {"AWS_REGION": "eu-north-1", "AWS_ACCESS_KEY_ID": "AKIAFAKE", "AWS_SECRET_ACCESS_KEY": "fake"}
    model = Provider("aws", env).model_for({"aws": "matthew"})
    caps = model.capabilities  # the plugin's own: realtime_model.py RealtimeModel.__init__
    assert not caps.mutable_instructions and not caps.mutable_chat_context
    # no wire test can reach it (the endpoint is fixed), so its options are read here
    assert (model._opts.region, model._opts.voice) == ("eu-north-1", "matthew")

    assert os.environ["AWS_ACCESS_KEY_ID"] == "AKIAFAKE"  # boto3 reads only the process environment
    b = changeable_for("aws", model)
    assert (b.instructions_live, b.context_live, b.voice) == (False, False, "reconnect")
    strategy = strategy_for(Provider("aws", env), b)
    assert isinstance(strategy, Realtime) and strategy.forget_hands_off


PROVIDER_ENVS = [
    pytest.param("ultravox", {"ULTRAVOX_API_KEY": "k"}, id="ultravox"),
    pytest.param(
        "aws", {"AWS_ACCESS_KEY_ID": "AKIAFAKE", "AWS_SECRET_ACCESS_KEY": "fake"}, id="aws",
        marks=pytest.mark.skipif(not ON_312, reason="livekit-plugins-aws[realtime] needs Python 3.12"),
    ),
]


@pytest.mark.parametrize(("name", "env"), PROVIDER_ENVS)
async def test_a_switch_and_a_forget_hand_off_to_a_fresh_model(name: str, env: dict) -> None:
    """The real controller and strategy on the plugin's real model: nothing is changed on the
    running model; the fresh agent carries the new persona's prompt and voice and the kept turns."""
    import prompts
    from agent.session.control import SessionController

    from livekit.agents import llm

    ctl = SessionController(prompts.PromptLibrary(), Provider(name, env))
    agent = ctl.first_agent(greet=False)
    carried = llm.ChatContext.empty()
    carried.add_message(role="user", content="I like tea")
    carried.add_message(role="assistant", content="Nice.")
    pirate = ctl.library.persona("pirate")

    switched = await ctl.strategy.switch_persona(ctl, agent, pirate, ctl.instructions("pirate"), "Ahoy!", carried)
    fresh = switched.handoff
    assert fresh is not None and fresh.llm is not agent.llm and type(fresh.llm) is type(agent.llm)
    assert fresh.instructions == ctl.instructions("pirate") and fresh.voice == pirate.voices[name]
    assert [m.text_content for m in fresh.chat_ctx.messages()] == ["I like tea", "Nice."]
    assert agent.instructions == ctl.instructions("assistant")  # the running agent was not touched
    assert "reconnect" in " ".join(switched.notes)

    forgot = ctl.strategy.forget(ctl, llm.ChatContext.empty(), "Forgotten.")
    assert forgot.handoff is not None and forgot.handoff.llm is not agent.llm and not forgot.handoff.chat_ctx.messages()
    await ctl.provider.aclose()

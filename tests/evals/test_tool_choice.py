"""A real model calls the right session tool for natural requests, and none for near misses."""

from __future__ import annotations

import json
import os

import pytest
from livekit.agents import AgentSession

import prompts
from agent.session.control import SessionController
from agent.providers import Provider


async def _session(provider_name: str) -> tuple[AgentSession, SessionController]:
    env = {**os.environ, "AGENT_MODALITIES": "text"}
    ctl = SessionController(prompts.PromptLibrary(), Provider(provider_name, env))
    session = AgentSession(vad=None, user_away_timeout=None)
    ctl.attach(session)
    await session.start(ctl.first_agent(greet=False))
    return session, ctl


def _judge_llm():
    from livekit.plugins import openai

    return openai.LLM(model="gpt-4o-mini") if os.environ.get("OPENAI_API_KEY") else None


@pytest.mark.parametrize(
    ("setup", "request_text", "tool", "arguments"),
    [
        ("I'm planning a trip to Lisbon.", "Forget what I just said.", "forget_conversation", {"scope": "last_turn"}),
        ("Hi there.", "Can I talk to the pirate?", "switch_persona", {"persona": "pirate"}),
        ("Hi there.", "Give me a sec, someone's at the door.", "mark_user_away", None),
    ],
)
async def test_natural_requests_call_the_right_tool(provider_name, setup, request_text, tool, arguments) -> None:
    session, ctl = await _session(provider_name)
    async with session:
        await session.run(user_input=setup)
        result = await session.run(user_input=request_text)
        result.expect.contains_function_call(name=tool, **({"arguments": arguments} if arguments else {}))


async def test_forget_about_names_what_to_forget_and_forgets_only_that(provider_name) -> None:
    session, ctl = await _session(provider_name)
    async with session:
        await session.run(user_input="I live in Lisbon.")
        await session.run(user_input="My card number is 4111 1111 1111 1111.")
        result = await session.run(user_input="Please forget my card number.")
        call = result.expect.contains_function_call(name="forget_conversation").event().item
        assert "card" in (json.loads(call.arguments).get("about") or "").lower()
        await ctl.settle()
        history = [m.text_content or "" for m in session.history.messages()]
        assert "I live in Lisbon." in history and not any("4111" in t for t in history)


@pytest.mark.parametrize(
    "text",
    [
        "I watched a great pirate movie last night.",
        "I keep forgetting my keys, any tips?",
        "How do I clear my browser cache?",
        "Wait till you hear this: I got the job!",
    ],
)
async def test_near_misses_call_no_tool(provider_name, text) -> None:
    session, _ = await _session(provider_name)
    async with session:
        result = await session.run(user_input=text)
        assert not [e for e in result.events if e.type == "function_call"]
        message = result.expect.contains_message(role="assistant")
        if (judge := _judge_llm()) is not None:
            await message.judge(judge, intent="Responds to what the user said, without claiming to change persona, forget anything or wait.")

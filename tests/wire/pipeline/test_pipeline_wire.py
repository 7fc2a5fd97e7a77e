"""Session control on the STT-LLM-TTS pipeline, asserted on the wire.

The real SessionController, ControlledAgent and a text-only AgentSession drive the real
``livekit.plugins.openai.LLM`` (built by agent/providers.py from ``LLM_BASE_URL``) against a
loopback Chat Completions fake. The fake is scripted to answer a user's turn with a tool
call and the tool's reply with a text; the assertions are on the request bodies it received.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import livekit.plugins.openai  # noqa: F401  (imported at collection: 2-3 s, not inside a test)
import pytest

import prompts
from agent.session.control import SessionController
from agent.providers import Provider

from tests.harness import start_chat
from tests.helpers import chat_process

from ..support import expected_instructions
from .fake_chat_completions import FakeChatCompletions, message_text

ROOT = Path(__file__).parents[3]
PERSONAS = ["assistant", "pirate", "tutor"]


def pipeline(fake: FakeChatCompletions, *, persona: str = "assistant") -> Any:
    """The shared harness on ``Provider("pipeline", ...)`` pointed at ``fake``."""
    return start_chat(provider=Provider("pipeline", {"LLM_BASE_URL": fake.base_url, "LLM_API_KEY": "x"}), persona=persona)


# ---- reading requests --------------------------------------------------------------------


def _system(messages: list[dict[str, Any]]) -> list[str]:
    return [message_text(m) for m in messages if m["role"] in ("system", "developer")]


def _user_texts(messages: list[dict[str, Any]]) -> list[str]:
    return [message_text(m) for m in messages if m["role"] == "user"]


def _shape(messages: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(role, text) of every non-system message; tool calls show as their name."""
    out = []
    for m in messages:
        if m["role"] in ("system", "developer"):
            continue
        if m.get("tool_calls"):
            out.append(("tool_calls", ",".join(c["function"]["name"] for c in m["tool_calls"])))
        else:
            out.append((m["role"], message_text(m)))
    return out


def _tool_messages(messages: list[dict[str, Any]]) -> list[str]:
    return [message_text(m) for m in messages if m["role"] == "tool"]


# ---- tests ---------------------------------------------------------------------------------


async def test_requests_carry_the_three_tools_and_the_persona_enum(fake_chat: FakeChatCompletions) -> None:
    async with pipeline(fake_chat) as p:
        await p.say("hello")
        instructions = expected_instructions("pipeline", "assistant")

    (req,) = fake_chat.requests
    assert req["stream"] is True and req["stream_options"] == {"include_usage": True}
    assert req["model"] == "llama3.1"  # LLM_MODEL unset: the provider's default
    assert fake_chat.headers[0]["authorization"] == "Bearer x"
    tools = {t["function"]["name"]: t for t in req["tools"]}
    assert set(tools) == {"switch_persona", "forget_conversation", "mark_user_away"}
    assert all(t["type"] == "function" for t in req["tools"])
    persona = tools["switch_persona"]["function"]["parameters"]["properties"]["persona"]
    assert sorted(persona["enum"]) == PERSONAS
    scope = tools["forget_conversation"]["function"]["parameters"]["properties"]["scope"]
    assert scope["enum"] == ["last_turn", "everything"]
    away = tools["mark_user_away"]["function"]["parameters"]["properties"]
    assert set(away) == {"reason", "minutes"}
    assert req["messages"] == [
        {"role": "system", "content": instructions},
        {"role": "user", "content": "hello"},
    ]


async def test_switch_persona_rewrites_the_system_message_and_keeps_the_conversation(
    fake_chat: FakeChatCompletions,
) -> None:
    async with pipeline(fake_chat) as p:
        await p.say("hi there")
        fake_chat.queue_tool_call("switch_persona", {"persona": "pirate"})
        fake_chat.queue_text("Ahoy, Captain Reed here!")
        result = await p.say("can I talk to the pirate?")
        result.expect.contains_function_call(name="switch_persona", arguments={"persona": "pirate"})
        await p.say("tell me a riddle")
        assistant, pirate = expected_instructions("pipeline", "assistant"), expected_instructions("pipeline", "pirate")
        assert p.ctl.persona_id == "pirate"

    assert assistant != pirate
    hi, ask_tool, tool_reply, riddle = fake_chat.requests
    assert _system(hi["messages"]) == [assistant]
    assert _system(ask_tool["messages"]) == [assistant]  # asked before the switch
    # the tool's follow-up and the next user turn already carry the pirate's instructions ...
    assert _system(tool_reply["messages"]) == [pirate]
    assert _system(riddle["messages"]) == [pirate]
    assert tool_reply["messages"][0]["role"] == "system"
    # ... and the whole conversation so far
    assert _shape(tool_reply["messages"])[:4] == [
        ("user", "hi there"),
        ("assistant", "OK."),
        ("user", "can I talk to the pirate?"),
        ("tool_calls", "switch_persona"),
    ]
    (output,) = _tool_messages(tool_reply["messages"])
    assert output.startswith("Switched: you are now Captain Reed.")
    assert _user_texts(riddle["messages"]) == ["hi there", "can I talk to the pirate?", "tell me a riddle"]
    assert ("assistant", "Ahoy, Captain Reed here!") in _shape(riddle["messages"])
    assert not fake_chat.rejections


async def test_forget_last_turn_leaves_the_next_request(fake_chat: FakeChatCompletions) -> None:
    async with pipeline(fake_chat) as p:
        fake_chat.queue_text("Nice to meet you, Alice.")
        await p.say("my name is Alice")
        fake_chat.queue_text("I will keep swordfish safe.")
        await p.say("my password is swordfish")
        fake_chat.queue_tool_call("forget_conversation", {"scope": "last_turn"})
        fake_chat.queue_text("Done, I've forgotten what you just said.")
        result = await p.say("forget what I just said")
        result.expect.contains_function_call(name="forget_conversation", arguments={"scope": "last_turn"})
        await p.say("what do you remember?")
        instructions = expected_instructions("pipeline")

    *_, ack, after = fake_chat.requests
    # the acknowledgement was generated from the full context (the forget applies after it)
    assert "swordfish" in json.dumps(ack["messages"])
    assert after["messages"] == [
        {"role": "system", "content": instructions},
        {"role": "user", "content": "my name is Alice"},
        {"role": "assistant", "content": "Nice to meet you, Alice."},
        {"role": "user", "content": "what do you remember?"},
    ]
    # the instructions themselves may quote "forget what I just said" as an example
    conversation = json.dumps(after["messages"][1:]).lower()
    for word in ("swordfish", "forget what i just said", "forget_conversation", "forgotten", "tool"):
        assert word not in conversation, word
    assert not fake_chat.rejections


async def test_forget_everything_leaves_only_the_system_message(fake_chat: FakeChatCompletions) -> None:
    async with pipeline(fake_chat) as p:
        await p.say("my name is Alice")
        await p.say("I like sailing")
        fake_chat.queue_tool_call("forget_conversation", {"scope": "everything"})
        fake_chat.queue_text("Done, I've forgotten our whole conversation. Let's start fresh.")
        await p.say("forget everything we said")
        await p.say("hello again")
        instructions = expected_instructions("pipeline")

    assert fake_chat.requests[-1]["messages"] == [
        {"role": "system", "content": instructions},
        {"role": "user", "content": "hello again"},
    ]
    assert not fake_chat.rejections


async def test_side_talk_while_away_sends_nothing_until_the_user_is_back(fake_chat: FakeChatCompletions) -> None:
    async with pipeline(fake_chat) as p:
        fake_chat.queue_tool_call("mark_user_away", {"minutes": 5})
        fake_chat.queue_text("Sure, take your time.")
        await p.say("hold on, I'll be right back")
        sent = len(fake_chat.requests)
        result = await p.say("honey, where are my keys?")
        assert result.events == [] and len(fake_chat.requests) == sent  # held: nothing on the wire
        assert p.session.user_state == "away"
        await p.say("ok I'm back")
        assert p.session.user_state == "listening"

    (output,) = _tool_messages(fake_chat.requests[1]["messages"])
    assert output.startswith("The user is marked away for about 5 minutes.")
    back = fake_chat.requests[-1]
    assert len(fake_chat.requests) == sent + 1
    assert _user_texts(back["messages"])[-1] == "ok I'm back"
    assert not fake_chat.rejections


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ({"persona": "wizard"}, "Unknown persona 'wizard'. Valid personas: assistant, pirate, tutor."),
        ({}, "`persona` must be one of: assistant, pirate, tutor."),
    ],
    ids=["unknown", "missing"],
)
async def test_a_bad_persona_argument_is_an_error_listing_the_personas(
    fake_chat: FakeChatCompletions, arguments: dict[str, Any], expected: str
) -> None:
    async with pipeline(fake_chat) as p:
        fake_chat.queue_tool_call("switch_persona", arguments)
        fake_chat.queue_text("Sorry, there is no such persona.")
        result = await p.say("let me talk to the wizard")
        result.expect.contains_function_call_output(is_error=True)
        await p.say("ok, never mind")
        assert p.ctl.persona_id == "assistant"
        instructions = expected_instructions("pipeline", "assistant")

    ask_tool, tool_reply, next_turn = fake_chat.requests
    (output,) = _tool_messages(tool_reply["messages"])
    assert expected in output
    assert all(name in output for name in PERSONAS)
    for req in (ask_tool, tool_reply, next_turn):
        assert _system(req["messages"]) == [instructions]
    assert not fake_chat.rejections


async def test_the_chat_command_runs_a_switch_end_to_end(fake_chat: FakeChatCompletions) -> None:
    fake_chat.queue_tool_call("switch_persona", {"persona": "pirate"})
    fake_chat.queue_text("Arr, Captain Reed at the helm!")
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(ROOT),
        "LLM_BASE_URL": fake_chat.base_url,
        "LLM_API_KEY": "x",
    }
    # most of the time is importing livekit in a fresh interpreter
    events, _ = await chat_process("pipeline", env, ["can I talk to the pirate?"], timeout=60)
    # the greeting, the user's words, the switch (applied inside the tool, so reported before
    # livekit's function_tools_executed), the tool's record, and the new persona's reply
    assert [e["type"] for e in events] == [
        "message", "message", "persona_changed", "function_call", "function_call_output", "message",
    ]  # fmt: skip
    greeting, user, changed, call, output, reply = events
    assert greeting["role"] == "assistant" and user == {"type": "message", "role": "user", "text": "can I talk to the pirate?"}
    assert changed == {"type": "persona_changed", "persona": "pirate"}
    assert call == {"type": "function_call", "name": "switch_persona", "arguments": {"persona": "pirate"}}
    assert output["name"] == "switch_persona" and output["is_error"] is False
    assert output["output"].startswith("Switched: you are now Captain Reed.")
    assert reply == {"type": "message", "role": "assistant", "text": "Arr, Captain Reed at the helm!"}
    # on the wire: the user's turn went out as the assistant, the tool's follow-up as the pirate
    same = SessionController(prompts.PromptLibrary(), Provider("pipeline", env))  # renders only
    ask_tool, tool_reply = fake_chat.requests
    assert _system(ask_tool["messages"]) == [same.instructions("assistant")]
    assert _system(tool_reply["messages"]) == [same.instructions("pirate")]
    assert _user_texts(tool_reply["messages"]) == ["can I talk to the pirate?"]


async def test_the_fake_rejects_what_the_service_rejects(fake_chat: FakeChatCompletions) -> None:
    """The ``not fake_chat.rejections`` checks above mean something: a dangling tool call
    or tool output (as a botched forget would leave) gets the service's 400."""
    import aiohttp

    url = fake_chat.base_url + "/chat/completions"
    call = {"id": "call_1", "type": "function", "function": {"name": "switch_persona", "arguments": "{}"}}
    bad = [
        [{"role": "user", "content": "hi"}, {"role": "tool", "tool_call_id": "call_1", "content": "x"}],
        [{"role": "user", "content": "hi"}, {"role": "assistant", "tool_calls": [call]}, {"role": "user", "content": "?"}],
    ]
    async with aiohttp.ClientSession() as http:
        for messages in bad:
            async with http.post(url, json={"model": "m", "stream": True, "messages": messages}) as resp:
                assert resp.status == 400
                assert "tool" in (await resp.json())["error"]["message"]
        body = {"model": "m", "stream": True, "stream_options": {"include_usage": True},
                "messages": [{"role": "user", "content": "hi"}]}
        async with http.post(url, json=body) as resp:
            assert resp.status == 200
            lines = [ln for ln in (await resp.text()).splitlines() if ln]
    assert lines[-1] == "data: [DONE]"
    chunks = [json.loads(ln.removeprefix("data: ")) for ln in lines[:-1]]
    assert "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"]) == "OK."
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["total_tokens"] > 0
    assert len(fake_chat.rejections) == 2 and len(fake_chat.requests) == 1

"""The real realtime plugins (livekit-plugins-openai / -google 1.8.9) and a real AgentSession
run against the loopback fakes; assertions are on what went over the wire.

These tests also pin down plugin behaviour the design relies on (see DESIGN.md, "Facts about
livekit-agents 1.8.9"); when an upgrade changes it, they fail here first.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

from livekit.agents import Agent, AgentSession, RunContext, function_tool, llm

from tests.compat import timeout
from tests.helpers import until

from .google.fake_gemini import TEXT_MODEL, FakeGeminiLive
from .openai.fake_openai import CANNOT_UPDATE_VOICE_MESSAGE, FakeOpenAIRealtime

TEST_TIMEOUT = 10.0


class ToolAgent(Agent):
    """A minimal agent exposing the project's tool names, with stub bodies."""

    def __init__(self, instructions: str = "You are the narrator.", **kwargs: Any) -> None:
        super().__init__(instructions=instructions, **kwargs)
        self.entered = asyncio.Event()

    async def on_enter(self) -> None:
        # runs once the activity started, i.e. after its realtime session got the agent's
        # instructions, tools and chat context: a public way to wait for a handoff
        self.entered.set()

    @function_tool
    async def switch_persona(self, context: RunContext, persona: str) -> str:
        """Switch to another persona.

        Args:
            persona: id of the persona to switch to
        """
        return f"now speaking as {persona}"

    @function_tool
    async def forget_conversation(self, context: RunContext, scope: str) -> str:
        """Forget part of the conversation.

        Args:
            scope: last_turn or everything
        """
        return f"forgot {scope}"


@contextlib.asynccontextmanager
async def running(model: Any, agent: Agent) -> AsyncIterator[AgentSession]:
    """A started text-only AgentSession (no room, no audio I/O) on ``model``; bounded."""
    async with timeout(TEST_TIMEOUT):
        async with model, AgentSession(llm=model) as session:
            await session.start(agent)
            yield session


# ------------------------------------------------------------------------------------------
# OpenAI Realtime
# ------------------------------------------------------------------------------------------


async def test_openai_function_call_round_trip(fake_openai: FakeOpenAIRealtime) -> None:
    fake_openai.queue_function_call("switch_persona", {"persona": "pirate"})
    fake_openai.queue_text("Arr, the pirate speaks.")
    model = fake_openai.realtime_model(modalities=["text"])
    agent = ToolAgent()

    async with running(model, agent) as session:
        result = await session.run(user_input="let me talk to the pirate")

        result.expect.next_event().is_function_call(
            name="switch_persona", arguments={"persona": "pirate"}
        )
        result.expect.next_event().is_function_call_output(output="now speaking as pirate")
        msg = result.expect.next_event().is_message(role="assistant")
        assert msg.event().item.text_content == "Arr, the pirate speaks."
        result.expect.no_more_events()

    conn = fake_openai.last
    assert len(fake_openai.connections) == 1
    assert conn.path == "/v1/realtime" and conn.model == "gpt-realtime"
    assert conn.headers["authorization"] == f"Bearer {fake_openai.api_key}"

    first = conn.events("session.update")[0]["session"]
    assert first["output_modalities"] == ["text"]
    assert conn.instructions == "You are the narrator."
    assert {t["name"] for t in conn.session["tools"]} == {"switch_persona", "forget_conversation"}

    creates = conn.events("conversation.item.create")
    assert creates[0]["item"]["type"] == "message"
    assert creates[0]["item"]["content"] == [
        {"type": "input_text", "text": "let me talk to the pirate"}
    ]
    call = conn.sent_events("response.output_item.done")[0]["item"]
    outputs = [c["item"] for c in creates if c["item"]["type"] == "function_call_output"]
    assert len(outputs) == 1
    assert outputs[0]["call_id"] == call["call_id"]
    assert outputs[0]["output"] == "now speaking as pirate"
    # no automatic reply after a tool result on OpenAI: the framework asks for one
    assert len(conn.events("response.create")) == 2


async def test_openai_update_instructions_and_chat_ctx(fake_openai: FakeOpenAIRealtime) -> None:
    fake_openai.queue_text("Hello.")
    model = fake_openai.realtime_model(modalities=["text"])
    agent = ToolAgent()

    async with running(model, agent) as session:
        await session.run(user_input="hi")

        await agent.update_instructions("X")
        upd = await fake_openai.wait_for(
            "session.update", where=lambda e: e["session"].get("instructions") == "X"
        )
        assert set(upd["session"]) == {"type", "instructions"}
        assert fake_openai.last.instructions == "X"

        remote_before = fake_openai.last.item_ids()
        assert len(remote_before) == 2  # user message + assistant message
        await agent.update_chat_ctx(llm.ChatContext.empty())

    deleted = [e["item_id"] for e in fake_openai.events("conversation.item.delete")]
    assert sorted(deleted) == sorted(remote_before)
    assert fake_openai.last.items == []
    assert len(fake_openai.sent_events("conversation.item.deleted")) == len(remote_before)
    assert fake_openai.sent_events("error") == []


async def test_openai_voice_change_after_audio_is_rejected(
    fake_openai: FakeOpenAIRealtime,
) -> None:
    fake_openai.queue_text("Ahoy.", audio=True)
    model = fake_openai.realtime_model()  # default modalities: text + audio
    assert model.capabilities.audio_output is True
    agent = ToolAgent()

    async with running(model, agent) as session:
        errors: list[Any] = []
        session.on("error", errors.append)

        # before any audio the voice may change
        agent.realtime_llm_session.update_options(voice="ash")
        await fake_openai.wait_for("session.update", where=_sets_voice("ash"))
        await asyncio.sleep(0.05)
        assert fake_openai.last.voice == "ash" and errors == []

        result = await session.run(user_input="say something")
        result.expect.next_event().is_message(role="assistant")
        assert fake_openai.last.audio_produced

        model.update_options(voice="cedar")  # model level: fans out to its sessions
        await fake_openai.wait_for("session.update", where=_sets_voice("cedar"))
        await until(lambda: errors)

    (err,) = fake_openai.sent_events("error")
    assert err["error"]["code"] == "cannot_update_voice"
    assert err["error"]["message"] == CANNOT_UPDATE_VOICE_MESSAGE
    assert fake_openai.last.voice == "ash"  # the service kept the old voice

    # the plugin surfaces it as a recoverable AgentSession "error" event, nothing raises
    (ev,) = errors
    assert isinstance(ev.error, llm.RealtimeModelError) and ev.error.recoverable
    assert ev.error.error.body.code == "cannot_update_voice"


async def test_openai_reconnect_replays_state_with_the_plugins_voice(
    fake_openai: FakeOpenAIRealtime,
) -> None:
    fake_openai.queue_text("Ahoy.", audio=True)
    model = fake_openai.realtime_model()
    agent = ToolAgent()

    async with running(model, agent) as session:
        await session.run(user_input="hello")
        rt = agent.realtime_llm_session
        reconnected: list[Any] = []
        rt.on("session_reconnected", reconnected.append)

        rt.update_options(voice="cedar")  # rejected by the service ...
        await until(lambda: fake_openai.sent_events("error"))
        assert rt._opts.voice == "cedar"  # ... but the plugin already believes it (private)

        await fake_openai.last.close()  # server drops the socket; the plugin reconnects
        second = await fake_openai.wait_for_connections(2)
        await until(lambda: reconnected and len(second.items) == 2)

    first_update = second.events("session.update")[0]["session"]
    assert first_update["audio"]["output"]["voice"] == "cedar"
    assert first_update["instructions"] == "You are the narrator."
    assert [(i["type"], i.get("role")) for i in second.items] == [
        ("message", "user"),
        ("message", "assistant"),
    ]
    # the assistant's audio answer comes back as text
    assert second.items[1]["content"] == [{"type": "output_text", "text": "Ahoy."}]


async def test_openai_handoff_to_new_model_opens_fresh_session(
    fake_openai: FakeOpenAIRealtime,
) -> None:
    fake_openai.queue_function_call("switch_persona", {"persona": "pirate"})
    fake_openai.queue_text("Switching.", audio=True)
    fake_openai.queue_text("I am the pirate.", audio=True)
    model = fake_openai.realtime_model()
    new_model = fake_openai.realtime_model(voice="cedar")
    agent = ToolAgent()

    async with new_model, running(model, agent) as session:
        await session.run(user_input="pirate please")
        pirate = ToolAgent(instructions="Pirate.", llm=new_model, chat_ctx=agent.chat_ctx)
        session.update_agent(pirate)
        await pirate.entered.wait()
        second = await fake_openai.wait_for_connections(2)
        result = await session.run(user_input="who are you?")
        msg = result.expect.next_event().is_message(role="assistant")
        assert msg.event().item.text_content == "I am the pirate."

    assert fake_openai.connections[0].closed
    assert second.voice == "cedar" and not any(e["type"] == "error" for e in second.sent)
    assert second.instructions == "Pirate."
    replayed = [e["item"]["type"] for e in second.events("conversation.item.create")]
    assert replayed[:4] == ["message", "function_call", "function_call_output", "message"]


# ------------------------------------------------------------------------------------------
# Gemini Live (Gemini API)
# ------------------------------------------------------------------------------------------


def _text_model(server: FakeGeminiLive, **kwargs: Any) -> Any:
    """TEXT output: a non-native-audio model (native-audio models refuse a TEXT setup)."""
    from google.genai import types

    return server.realtime_model(model=TEXT_MODEL, modalities=[types.Modality.TEXT], **kwargs)


async def test_gemini_function_call_round_trip(fake_gemini: FakeGeminiLive) -> None:
    fake_gemini.queue_function_call("switch_persona", {"persona": "pirate"})
    fake_gemini.queue_text("Arr, the pirate speaks.")
    model = _text_model(fake_gemini)
    agent = ToolAgent()

    async with running(model, agent) as session:
        result = await session.run(user_input="let me talk to the pirate")

        result.expect.next_event().is_function_call(
            name="switch_persona", arguments={"persona": "pirate"}
        )
        result.expect.next_event().is_function_call_output(output="now speaking as pirate")
        msg = result.expect.next_event().is_message(role="assistant")
        assert msg.event().item.text_content == "Arr, the pirate speaks."
        result.expect.no_more_events()

    conn = fake_gemini.last
    assert len(fake_gemini.connections) == 1
    assert conn.path.endswith(".GenerativeService.BidiGenerateContent")
    assert conn.headers["x-goog-api-key"] == fake_gemini.api_key
    assert conn.system_instruction == "You are the narrator."
    assert conn.response_modalities == ["TEXT"]
    assert set(conn.tool_names) == {"switch_persona", "forget_conversation"}
    assert conn.resumption_requested and conn.resumption_handle is None

    # the user text goes as an open turn, then a "." placeholder turn completes it
    assert conn.turns() == [("user", "let me talk to the pirate"), ("user", ".")]
    (fr,) = conn.function_responses()
    (tool_call,) = [m["toolCall"] for m in conn.sent if "toolCall" in m]
    call_id = tool_call["functionCalls"][0]["id"]
    assert fr["id"] == call_id and fr["name"] == "switch_persona"
    assert fr["response"] == {"output": "now speaking as pirate"}


async def test_gemini_update_instructions_is_a_model_turn(fake_gemini: FakeGeminiLive) -> None:
    fake_gemini.queue_text("Hello.")
    model = _text_model(fake_gemini)
    agent = ToolAgent(instructions="Old instructions.")

    async with running(model, agent) as session:
        await session.run(user_input="hi")
        await agent.update_instructions("X")
        cc = await fake_gemini.wait_for(
            "clientContent", where=lambda m: any(
                p.get("text") == "X" for t in m["turns"] for p in t["parts"]
            )
        )
        await asyncio.sleep(0.05)

    assert cc == {"turns": [{"parts": [{"text": "X"}], "role": "model"}], "turnComplete": False}
    assert len(fake_gemini.connections) == 1  # no reconnect
    assert fake_gemini.last.system_instruction == "Old instructions."


async def test_gemini_voice_change_reconnects_with_resumption_handle(
    fake_gemini: FakeGeminiLive,
) -> None:
    fake_gemini.queue_text("Hello.")
    model = _text_model(fake_gemini)
    agent = ToolAgent(instructions="Old instructions.")

    async with running(model, agent) as session:
        await session.run(user_input="hi")
        assert len(fake_gemini.issued_handles) == 1
        rt = agent.realtime_llm_session
        await until(lambda: rt.session_resumption_handle == fake_gemini.issued_handles[-1])

        # the model-level update does not reach the live session: the session shares the
        # model's options object, so it sees no change (and no reconnect happens)
        model.update_options(voice="Kore")
        await asyncio.sleep(0.2)
        assert len(fake_gemini.connections) == 1

        await agent.update_instructions("New instructions.")
        rt.update_options(voice="Charon")  # session level: reconnects
        second = await fake_gemini.wait_for_connections(2)
        await asyncio.sleep(0.05)

    first = fake_gemini.connections[0]
    assert first.closed
    assert second.voice == "Charon"
    assert second.resumption_handle == fake_gemini.issued_handles[0]
    # the rebuilt setup carries the instructions given to update_instructions earlier
    assert second.system_instruction == "New instructions."
    # resuming: the history is not sent again
    assert second.client_contents == []


async def test_gemini_handoff_to_new_model_opens_fresh_session(
    fake_gemini: FakeGeminiLive,
) -> None:
    fake_gemini.queue_function_call("switch_persona", {"persona": "pirate"})
    fake_gemini.queue_text("Switching.")
    fake_gemini.queue_text("I am the pirate.")
    model = _text_model(fake_gemini)
    agent = ToolAgent(instructions="Narrator instructions.")

    new_model = _text_model(fake_gemini, voice="Fenrir")

    async with new_model, running(model, agent) as session:
        await session.run(user_input="pirate please")
        assert fake_gemini.issued_handles

        pirate = ToolAgent(
            instructions="Pirate instructions.", llm=new_model, chat_ctx=agent.chat_ctx
        )
        session.update_agent(pirate)
        await pirate.entered.wait()
        second = await fake_gemini.wait_for_connections(2)
        await until(lambda: second.client_contents)

        result = await session.run(user_input="who are you?")
        msg = result.expect.next_event().is_message(role="assistant")
        assert msg.event().item.text_content == "I am the pirate."

    first = fake_gemini.connections[0]
    assert first.closed
    assert second.system_instruction == "Pirate instructions."
    assert second.voice == "Fenrir"
    assert second.resumption_requested and second.resumption_handle is None  # fresh session
    assert "historyConfig" not in second.setup

    # the carried chat context is seeded as one open clientContent, text turns only
    seed = second.client_contents[0]
    assert seed["turnComplete"] is False
    assert [(t["role"], t["parts"][0]["text"]) for t in seed["turns"]] == [
        ("user", "pirate please"),
        ("model", "Switching."),
    ]
    assert "functionCall" not in json.dumps(seed) and "functionResponse" not in json.dumps(seed)


# ------------------------------------------------------------------------------------------


def _sets_voice(voice: str) -> Any:
    def pred(e: dict[str, Any]) -> bool:
        return (e["session"].get("audio") or {}).get("output", {}).get("voice") == voice

    return pred

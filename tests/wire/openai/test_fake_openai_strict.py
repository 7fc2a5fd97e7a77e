"""The OpenAI Realtime fake refuses what the real service refuses, answers errors naming the
client event they refuse (``error.event_id``) as the service does, and streams replies over time so that barge-in can
be tested. A raw WebSocket client shows each rule on the wire; the real plugin shows the
ones the agent meets.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from livekit.agents import Agent, AgentSession, llm
from websockets.asyncio.client import ClientConnection, connect

from tests.compat import timeout

from ..checks import fail_on_schema_violations
from .fake_openai import FakeOpenAIRealtime, FunctionCall

TEST_TIMEOUT = 10.0
STORY = "Once upon a time there was a small boat that sailed the sea all day long."


class RawClient:
    """A bare Realtime WebSocket client: JSON in, JSON out, every server event kept."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.events: list[dict[str, Any]] = []
        self._ids = 0

    async def send(self, event: dict[str, Any]) -> str:
        self._ids += 1
        event = {"event_id": f"client_evt_{self._ids}", **event}
        await self.ws.send(json.dumps(event))
        return event["event_id"]

    async def until(self, type: str, *, where: Any = None, count: int = 1) -> dict[str, Any]:
        """Read until ``count`` server events of ``type`` (matching ``where``) were seen."""

        def matches() -> list[dict[str, Any]]:
            return [e for e in self.events if e["type"] == type and (where is None or where(e))]

        async with timeout(5):
            while len(matches()) < count:
                self.events.append(json.loads(await self.ws.recv()))
        return matches()[count - 1]

    async def drain(self, quiet: float = 0.15) -> None:
        """Read whatever arrives until the server has been quiet for ``quiet`` seconds."""
        with contextlib.suppress(asyncio.TimeoutError):
            while True:
                self.events.append(json.loads(await asyncio.wait_for(self.ws.recv(), quiet)))

    def of(self, type: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["type"] == type]


@contextlib.asynccontextmanager
async def raw_client(server: FakeOpenAIRealtime) -> AsyncIterator[RawClient]:
    async with connect(f"ws://127.0.0.1:{server.port}/v1/realtime?model=gpt-realtime") as ws:
        client = RawClient(ws)
        await client.until("session.created")
        yield client


def user_item(text: str, **extra: Any) -> dict[str, Any]:
    return {"type": "conversation.item.create", **extra,
            "item": {"type": "message", "role": "user",
                     "content": [{"type": "input_text", "text": text}]}}


# ------------------------------------------------------------------------------------------
# errors: each names the client event it refuses
# ------------------------------------------------------------------------------------------


async def test_an_unknown_previous_item_id_is_an_error_and_adds_nothing(
    fake_openai: FakeOpenAIRealtime,
) -> None:
    async with raw_client(fake_openai) as c:
        await c.send(user_item("first"))
        await c.until("conversation.item.done")
        sent = await c.send(user_item("second", previous_item_id="item_does_not_exist"))
        err = await c.until("error")
        await c.drain()

    conn = fake_openai.last
    assert err["error"]["event_id"] == sent  # the service names the request it refuses
    assert err["error"]["code"] == "item_create_invalid_previous_item_id"
    assert "item_does_not_exist" in err["error"]["message"]
    assert len(c.of("conversation.item.added")) == 1
    assert [it["content"][0]["text"] for it in conn.items] == ["first"]


async def test_an_output_for_an_unknown_call_is_an_error_and_adds_nothing(
    fake_openai: FakeOpenAIRealtime,
) -> None:
    fake_openai.queue_reply(FunctionCall("switch_persona", {"persona": "pirate"}, "call_real"))
    async with raw_client(fake_openai) as c:
        sent = await c.send({"type": "conversation.item.create", "item": {
            "type": "function_call_output", "call_id": "call_made_up", "output": "done"}})
        err = await c.until("error")
        # the same output for the call the model really made is accepted
        await c.send({"type": "response.create"})
        await c.until("response.done")
        await c.send({"type": "conversation.item.create", "item": {
            "type": "function_call_output", "call_id": "call_real", "output": "done"}})
        added = await c.until("conversation.item.added",
                              where=lambda e: e["item"]["type"] == "function_call_output")

    assert err["error"]["event_id"] == sent
    assert "call_made_up" in err["error"]["message"]
    assert added["item"]["call_id"] == "call_real"
    assert [it["type"] for it in fake_openai.last.items] == ["function_call", "function_call_output"]


async def test_error_event_ids_can_be_turned_off() -> None:
    async with FakeOpenAIRealtime(error_event_ids=False) as server:
        async with raw_client(server) as c:
            sent = await c.send({"type": "conversation.item.delete", "item_id": "nope"})
            err = await c.until("error")
        fail_on_schema_violations(server)
    assert err["error"]["code"] == "item_delete_invalid_item_id" and sent
    assert err["error"]["event_id"] is None


# ------------------------------------------------------------------------------------------
# one response at a time, cancel, pacing
# ------------------------------------------------------------------------------------------


async def test_a_paced_reply_streams_over_time_in_several_deltas(
    fake_openai: FakeOpenAIRealtime,
) -> None:
    fake_openai.pace = 0.05
    fake_openai.queue_text(STORY, audio=True, audio_chunks=4, text_deltas=5)
    loop = asyncio.get_running_loop()
    async with raw_client(fake_openai) as c:
        await c.send({"type": "response.create"})
        first = await c.until("response.output_audio.delta")
        t0 = loop.time()
        assert first  # the first chunk is in; the rest follow at the pace
        await c.until("response.done")
        elapsed = loop.time() - t0

    transcript = [d["delta"] for d in c.of("response.output_audio_transcript.delta")]
    assert len(transcript) == 5 and "".join(transcript) == STORY
    assert len(c.of("response.output_audio.delta")) == 4
    assert elapsed >= 4 * 0.05 * 0.9  # five steps, four pauses of `pace` after the first
    assert c.of("response.done")[0]["response"]["status"] == "completed"


async def test_a_second_response_create_during_a_reply_is_refused(
    fake_openai: FakeOpenAIRealtime,
) -> None:
    fake_openai.pace = 0.05
    fake_openai.queue_text(STORY, audio=False, text_deltas=10)
    async with raw_client(fake_openai) as c:
        await c.send({"type": "response.create"})
        created = await c.until("response.created")
        await c.until("response.output_text.delta")
        second = await c.send({"type": "response.create"})
        err = await c.until("error")
        done = await c.until("response.done")
        await c.drain()

    assert err["error"]["code"] == "conversation_already_has_active_response"
    assert err["error"]["event_id"] == second  # as in livekit/agents#2064 (response_create_…)
    assert created["response"]["id"] in err["error"]["message"]
    # the first reply went on undisturbed; the second never started
    assert done["response"]["status"] == "completed"
    assert len(c.of("response.created")) == 1 and len(c.of("response.done")) == 1
    assert "".join(d["delta"] for d in c.of("response.output_text.delta")) == STORY
    # once it is done, a new response.create is accepted
    assert fake_openai.last.response is None


async def test_a_cancelled_reply_stops_and_keeps_its_partial_text(
    fake_openai: FakeOpenAIRealtime,
) -> None:
    fake_openai.pace = 0.05
    fake_openai.queue_text(STORY, audio=False, text_deltas=10)
    async with raw_client(fake_openai) as c:
        await c.send({"type": "response.create"})
        await c.until("response.output_text.delta", count=2)
        await c.send({"type": "response.cancel"})
        done = await c.until("response.done")
        await c.drain(quiet=0.3)  # longer than a few paces: no delta comes after the cancel

    deltas = [d["delta"] for d in c.of("response.output_text.delta")]
    partial = "".join(deltas)
    assert 2 <= len(deltas) < 10 and STORY.startswith(partial) and partial != STORY
    last_delta = max(i for i, e in enumerate(c.events) if e["type"] == "response.output_text.delta")
    assert c.events.index(done) > last_delta
    assert done["response"]["status"] == "cancelled"
    assert done["response"]["status_details"] == {"type": "cancelled", "reason": "client_cancelled"}
    (out,) = done["response"]["output"]
    assert out["status"] == "incomplete" and out["content"] == [{"type": "output_text", "text": partial}]
    # the partial item stays in the conversation, with what was said so far
    (item,) = fake_openai.last.items
    assert item["status"] == "incomplete" and item["content"][0]["text"] == partial
    (item_done,) = c.of("response.output_item.done")
    assert item_done["item"]["content"][0]["text"] == partial


async def test_a_cancelled_audio_reply_stops_its_audio(fake_openai: FakeOpenAIRealtime) -> None:
    fake_openai.pace = 0.05
    fake_openai.queue_text(STORY, audio=True, audio_chunks=10, text_deltas=10)
    async with raw_client(fake_openai) as c:
        await c.send({"type": "response.create"})
        await c.until("response.output_audio.delta", count=2)
        await fake_openai.last.cancel_response()  # as the server VAD does on barge-in
        done = await c.until("response.done")
        await c.drain(quiet=0.3)

    assert done["response"]["status_details"] == {"type": "cancelled", "reason": "turn_detected"}
    assert 2 <= len(c.of("response.output_audio.delta")) < 10
    transcript = "".join(d["delta"] for d in c.of("response.output_audio_transcript.delta"))
    (item,) = fake_openai.last.items
    assert item["content"] == [{"type": "output_audio", "transcript": transcript}]
    assert c.of("response.output_audio_transcript.done")[0]["transcript"] == transcript


async def test_cancel_without_an_active_response_is_an_error(fake_openai: FakeOpenAIRealtime) -> None:
    async with raw_client(fake_openai) as c:
        await c.send({"type": "response.create"})
        await c.until("response.done")
        cancel = await c.send({"type": "response.cancel"})
        err = await c.until("error")
    assert err["error"]["code"] == "response_cancel_not_active"
    assert err["error"]["event_id"] == cancel


# ------------------------------------------------------------------------------------------
# session.update refusals
# ------------------------------------------------------------------------------------------


async def test_a_refused_session_update_changes_nothing(fake_openai: FakeOpenAIRealtime) -> None:
    async with raw_client(fake_openai) as c:
        await c.send({"type": "session.update", "session": {"type": "realtime", "instructions": "A"}})
        await c.until("session.updated")
        fake_openai.refuse_next_session_update(
            "invalid_value", "Invalid value: 'x'.", param="session.instructions"
        )
        refused = await c.send({"type": "session.update", "session": {"type": "realtime", "instructions": "B"}})
        err = await c.until("error")
        await c.drain()
        assert len(c.of("session.updated")) == 1  # no confirmation for the refused one
        assert fake_openai.last.instructions == "A"
        # one refusal only: the next update is applied and confirmed
        await c.send({"type": "session.update", "session": {"type": "realtime", "instructions": "C"}})
        updated = await c.until("session.updated", count=2)

    assert err["error"] == {"type": "invalid_request_error", "code": "invalid_value",
                            "message": "Invalid value: 'x'.", "param": "session.instructions",
                            "event_id": refused}
    assert updated["session"]["instructions"] == "C" == fake_openai.last.instructions


# ------------------------------------------------------------------------------------------
# schema: both ways
# ------------------------------------------------------------------------------------------


async def test_a_client_event_the_sdk_does_not_know_is_refused_and_recorded(
    fake_openai: FakeOpenAIRealtime,
) -> None:
    async with raw_client(fake_openai) as c:
        await c.send({"type": "session.update",
                      "session": {"type": "realtime", "instructions": "A", "mood": "cheerful"}})
        err = await c.until("error")
        await c.drain()

    assert err["error"]["code"] == "unknown_parameter"
    assert err["error"]["param"] == "session.mood"
    assert err["error"]["message"] == "Unknown parameter: 'session.mood'."
    assert c.of("session.updated") == [] and fake_openai.last.instructions == ""
    assert fake_openai.schema_violations == [
        "conn 0: received 'session.update' #0: $.session.mood: unknown field, not declared by "
        "RealtimeSessionCreateRequest"
    ]
    with pytest.raises(pytest.fail.Exception, match="1 schema violation"):
        fail_on_schema_violations(fake_openai)
    fake_openai.schema_violations.clear()  # seen: let the fixture's teardown pass


async def test_a_server_event_the_sdk_does_not_know_is_recorded(
    fake_openai: FakeOpenAIRealtime,
) -> None:
    async with raw_client(fake_openai) as c:
        conn = await fake_openai.wait_for_connections(1)
        await conn.send({"type": "input_audio_buffer.cleared", "extra": 1})
        await conn.send({"type": "conversation.item.deleted"})  # item_id missing
        await c.until("conversation.item.deleted")

    assert fake_openai.schema_violations == [
        "conn 0: sent 'input_audio_buffer.cleared' #1: $.extra: unknown field, not declared by "
        "InputAudioBufferClearedEvent",
        "conn 0: sent 'conversation.item.deleted' #2: $.item_id: missing required field "
        "(ConversationItemDeletedEvent)",
    ]
    fake_openai.schema_violations.clear()


# ------------------------------------------------------------------------------------------
# the real plugin
# ------------------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def running(model: Any, agent: Agent) -> AsyncIterator[AgentSession]:
    async with timeout(TEST_TIMEOUT):
        async with model, AgentSession(llm=model) as session:
            await session.start(agent)
            yield session


async def test_barge_in_cancels_the_reply_and_the_partial_text_stays(
    fake_openai: FakeOpenAIRealtime,
) -> None:
    fake_openai.pace = 0.05
    fake_openai.queue_text(STORY, text_deltas=10)
    model = fake_openai.realtime_model(modalities=["text"])
    agent = Agent(instructions="You tell stories.")

    async with running(model, agent) as session:
        handle = session.generate_reply(user_input="tell me a story")
        await fake_openai.wait_for_sent("response.output_text.delta", count=2)
        await session.interrupt()
        await handle
        done = await fake_openai.wait_for_sent("response.done")
        await asyncio.sleep(0.2)

    conn = fake_openai.last
    assert conn.events("response.cancel")  # the plugin asked the service to stop
    assert done["response"]["status"] == "cancelled"
    said = "".join(e["delta"] for e in conn.sent_events("response.output_text.delta"))
    assert said and said != STORY and len(conn.sent_events("response.output_text.delta")) < 10
    assistant = [it for it in conn.items if it.get("role") == "assistant"]
    assert [(it["status"], it["content"][0]["text"]) for it in assistant] == [("incomplete", said)]
    assert handle.interrupted
    # the plugin cancels twice (interrupt, then the cancelled reply); the service answers the
    # second with "Cancellation failed", which the plugin ignores
    assert {e["error"]["code"] for e in fake_openai.sent_events("error")} <= {"response_cancel_not_active"}


async def test_a_refused_instructions_update_reaches_the_plugin_as_an_error(
    fake_openai: FakeOpenAIRealtime,
) -> None:
    fake_openai.queue_text("Hello.")
    model = fake_openai.realtime_model(modalities=["text"])
    agent = Agent(instructions="Old.")

    async with running(model, agent) as session:
        errors: list[Any] = []
        session.on("error", errors.append)
        await session.run(user_input="hi")
        updates_before = len(fake_openai.sent_events("session.updated"))
        fake_openai.refuse_next_session_update("invalid_value", "Instructions are too long.",
                                               param="session.instructions")
        await agent.update_instructions("New.")
        await fake_openai.wait_for("session.update",
                                   where=lambda e: e["session"].get("instructions") == "New.")
        await fake_openai.wait_for_sent("error")
        await asyncio.sleep(0.1)

    assert fake_openai.last.instructions == "Old."  # the service kept the old instructions
    assert len(fake_openai.sent_events("session.updated")) == updates_before
    (ev,) = errors
    assert isinstance(ev.error, llm.RealtimeModelError) and ev.error.recoverable
    assert ev.error.error.body.code == "invalid_value"

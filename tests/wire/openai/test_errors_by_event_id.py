"""Errors answer the request whose id they echo, as the service sends them.

The service echoes the client event's id in ``error.event_id`` (livekit/agents#3398:
``event_id='tools_update_…'``; #2064: ``response_create_…``), and the 1.8.9 plugin tags
every request it sends. So an error that names another request (the plugin's own
``response.cancel`` racing a finished response: ``response_cancel_not_active``, which the
plugin ignores) is no refusal of a switch, and a real refusal still is one.
"""

from __future__ import annotations

from typing import Any

import pytest
import livekit.plugins.openai  # noqa: F401  (imported at collection, not inside a test)

from ..support import controlled_session, expected_instructions
from .fake_openai import FakeOpenAIRealtime, OpenAIConnection
from .fixtures import openai_env

NOT_ACTIVE = "Cancellation failed: no active response found"


@pytest.fixture
async def fake() -> Any:
    async with FakeOpenAIRealtime(error_event_ids=True) as server:  # as the service answers
        yield server


def _another_requests_error_first(monkeypatch: pytest.MonkeyPatch) -> None:
    """Before answering each session.update, the service reports an error about another
    request: a response.cancel the plugin sent when no response was active."""
    answer = OpenAIConnection._on_session_update

    async def unrelated_error_then_answer(self: OpenAIConnection, ev: dict[str, Any]) -> None:
        await self.send_error("response_cancel_not_active", NOT_ACTIVE, event_id="response_cancel_5f2a9c")
        await answer(self, ev)

    monkeypatch.setattr(OpenAIConnection, "_on_session_update", unrelated_error_then_answer)


async def test_an_error_about_another_request_is_no_refusal_of_the_switch(fake: FakeOpenAIRealtime, monkeypatch) -> None:
    async with controlled_session("openai", openai_env(fake, modalities="text")) as c:
        await c.say("hi")
        _another_requests_error_first(monkeypatch)
        fake.queue_function_call("switch_persona", {"persona": "pirate"})
        fake.queue_text("Arr.")
        result = await c.say("can I talk to the pirate?")
        output = result.expect.contains_function_call_output().event().item.output
        persona, instructions = c.ctl.persona_id, c.agent.instructions

    assert output.startswith("Switched: you are now Captain Reed.")
    assert persona == "pirate" and instructions == expected_instructions("openai", "pirate")
    assert fake.last.instructions == expected_instructions("openai", "pirate")
    assert [e["error"]["code"] for e in fake.sent_events("error")].count("response_cancel_not_active") >= 1


async def test_a_refusal_that_names_the_update_still_refuses_the_switch(fake: FakeOpenAIRealtime) -> None:
    async with controlled_session("openai", openai_env(fake, modalities="text")) as c:
        await c.say("hi")
        old = c.agent.instructions
        fake.refuse_next_session_update("invalid_value", "Invalid value for 'voice'.")
        fake.queue_function_call("switch_persona", {"persona": "pirate"})
        fake.queue_text("Sorry, that did not work.")
        result = await c.say("can I talk to the pirate?")
        output = result.expect.contains_function_call_output().event().item
        persona, instructions = c.ctl.persona_id, c.agent.instructions

    (error,) = fake.sent_events("error")
    assert error["error"]["event_id"] in {e["event_id"] for e in fake.events("session.update")}  # it names the update
    assert output.is_error and "refused" in output.output
    assert persona == "assistant" and instructions == old


async def test_an_error_about_another_request_is_no_refusal_of_a_delete(fake: FakeOpenAIRealtime, monkeypatch) -> None:
    """Each delete is confirmed; an error naming another request in between does not make
    the forget "incomplete" (the agent would then wrongly say part of it stayed)."""
    delete = OpenAIConnection._on_item_delete

    async def unrelated_error_then_delete(self: OpenAIConnection, ev: dict[str, Any]) -> None:
        await self.send_error("input_audio_buffer_commit_empty", "buffer too small", event_id="input_audio_buffer_commit_1")
        await delete(self, ev)

    async with controlled_session("openai", openai_env(fake, modalities="text")) as c:
        fake.queue_text("Noted.")
        await c.say("my secret is 42")
        monkeypatch.setattr(OpenAIConnection, "_on_item_delete", unrelated_error_then_delete)
        fake.queue_function_call("forget_conversation", {"scope": "last_turn"})
        fake.queue_text("Done, forgotten.")
        result = await c.say("forget what I just said")
        await c.ctl.settle()
        spoken = [e.item.text_content for e in result.events if e.type == "message"]
        history = c.history_texts()

    assert spoken == ["Done, forgotten."]  # no lines/forget_incomplete correction
    assert "my secret is 42" not in history
    assert not any("42" in str(it.get("content")) for it in fake.last.items)

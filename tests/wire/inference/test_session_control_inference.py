"""Session control on LiveKit Inference (an openai/* model), end to end and asserted on the wire.

The real SessionController, ControlledAgent and AgentSession drive the real
``livekit.agents.inference.realtime.RealtimeModel`` (built by agent/providers/inference.py
from environment values, LIVEKIT_INFERENCE_URL pointing at the fake) against the OpenAI
Realtime fake: the gateway speaks the OpenAI Realtime protocol, with a LiveKit access token.
"""

from __future__ import annotations

import json
from typing import Any

import livekit.agents.inference.realtime  # noqa: F401  (imports the openai SDK's types: at collection)
from livekit import api

from tests.helpers import until

from ..support import controlled_session, expected_instructions
from ..openai.fake_openai import FakeOpenAIRealtime
from .fixtures import API_KEY, API_SECRET, inference_env


def _texts(items: list[dict[str, Any]]) -> list[str]:
    return [c.get("text", "") for it in items if it["type"] == "message" for c in it["content"]]


async def test_the_fake_accepts_the_inference_connection_and_a_typed_turn_gets_a_reply(
    fake_openai: FakeOpenAIRealtime,
) -> None:
    async with controlled_session("inference", inference_env(fake_openai, modalities="text")) as c:
        fake_openai.queue_text("Hello from the gateway.")
        result = await c.say("hello")
        result.expect.contains_message(role="assistant")
        spoken = [e.item.text_content for e in result.events if e.type == "message" and e.item.role == "assistant"]

    (conn,) = fake_openai.connections
    # what inference/realtime/openai.py sends: the base URL's /realtime with the model's full name
    assert (conn.path, conn.query["model"]) == ("/v1/realtime", ["openai/gpt-realtime"])
    # ... a LiveKit access token as the bearer, signed with the secret, allowed to perform inference
    scheme, _, token = conn.headers["authorization"].partition(" ")
    claims = api.TokenVerifier(API_KEY, API_SECRET).verify(token)
    assert scheme == "Bearer" and claims.identity == "agent" and claims.inference and claims.inference.perform
    assert API_SECRET not in json.dumps(conn.headers) and "livekit-inference" not in json.dumps(conn.headers)
    assert conn.headers["user-agent"].startswith("LiveKit Agents/")
    # ... and session.update without a model (the gateway picks it from the URL)
    assert conn.events("session.update") and not [e for e in conn.events("session.update") if "model" in e["session"]]
    assert conn.instructions == expected_instructions("inference")
    # the typed turn went out as an item, a reply was asked for and heard
    assert "hello" in _texts([e["item"] for e in conn.events("conversation.item.create")])
    assert conn.events("response.create") and spoken == ["Hello from the gateway."]
    assert fake_openai.sent_events("error") == [] and c.errors == []


async def test_switch_in_text_mode_is_applied_in_place_and_confirmed(fake_openai: FakeOpenAIRealtime) -> None:
    async with controlled_session("inference", inference_env(fake_openai, modalities="text")) as c:
        await c.say("hi")
        fake_openai.queue_function_call("switch_persona", {"persona": "pirate"})
        fake_openai.queue_text("Arr, Captain Reed here.")
        result = await c.say("can I talk to the pirate?")
        output = result.expect.contains_function_call_output().event().item.output
        pirate = c.ctl.library.persona("pirate")
        instructions = expected_instructions("inference", "pirate")

    (conn,) = fake_openai.connections  # no reconnect
    updates = [i for i, e in enumerate(conn.received) if e["type"] == "session.update" and e["session"].get("instructions") == instructions]
    assert len(updates) == 1
    # the service's answer: a session.updated holding the pirate's instructions and voice
    confirmed = [e["session"] for e in conn.sent_events("session.updated")]
    assert confirmed[-1]["instructions"] == instructions and confirmed[-1]["audio"]["output"]["voice"] == pirate.voices["openai"]
    assert output.startswith("Switched: you are now Captain Reed.") and "reconnect" not in output
    assert c.ctl.persona_id == "pirate" and ("persona_changed", "pirate") in c.events
    assert fake_openai.sent_events("error") == [] and c.errors == []


async def test_a_refused_switch_is_reported_because_the_answer_is_waited_for(fake_openai: FakeOpenAIRealtime) -> None:
    """The confirmations are OpenAI's (the engine's openai_server_event_received): an error
    in answer to the session.update is a refusal, not a switch."""
    async with controlled_session("inference", inference_env(fake_openai, modalities="text")) as c:
        await c.say("hi")
        fake_openai.refuse_next_session_update(code="invalid_value", message="Invalid value for instructions.")
        fake_openai.queue_function_call("switch_persona", {"persona": "pirate"})
        fake_openai.queue_text("Sorry, I can't switch right now.")
        result = await c.say("can I talk to the pirate?")
        output = result.expect.contains_function_call_output().event().item

    assert output.is_error and "refused" in output.output and "Switched" not in output.output
    assert c.ctl.persona_id == "assistant"
    assert fake_openai.last.instructions == expected_instructions("inference")


async def test_forget_deletes_the_items_on_the_server(fake_openai: FakeOpenAIRealtime) -> None:
    async with controlled_session("inference", inference_env(fake_openai, modalities="text")) as c:
        fake_openai.queue_text("Nice.")
        await c.say("I like tea")
        fake_openai.queue_text("Noted.")
        await c.say("my secret is 42")
        fake_openai.queue_function_call("forget_conversation", {"scope": "last_turn"})
        fake_openai.queue_text("Done, forgotten.")
        result = await c.say("forget what I just said")
        output = result.expect.contains_function_call_output().event().item.output
        conn = fake_openai.last
        deletes = lambda: conn.events("conversation.item.delete")  # noqa: E731
        await until(lambda: deletes() and len(conn.sent_events("conversation.item.deleted")) == len(deletes()), what="deletions")

    assert len(fake_openai.connections) == 1
    deleted = {e["item_id"] for e in conn.events("conversation.item.delete")}
    assert deleted == {e["item_id"] for e in conn.sent_events("conversation.item.deleted")}
    # the turn, its reply, the request, the call, its output and the acknowledgement: gone
    assert len(deleted) == 6 and not deleted & set(conn.item_ids())
    assert _texts(conn.items) == ["I like tea", "Nice."]
    assert "my secret is 42" not in c.history_texts()
    assert "reconnect" not in output
    assert fake_openai.sent_events("error") == [] and c.errors == []

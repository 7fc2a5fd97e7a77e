"""The Ultravox fake is as strict as its references: the docs' fields both ways, the plugin's
own models for what it sends, StartCallRequest for a new call, and no automatic pongs."""

from __future__ import annotations

import aiohttp

from tests.helpers import until

from .fake_ultravox import FakeUltravox
from .ultravox_schema import call_request_problems, message_problems


def test_data_messages_are_held_to_the_docs_fields() -> None:
    # examples as apps/datamessages.mdx prints them
    assert message_problems({"type": "client_tool_result", "invocationId": "i", "result": "ok",
                             "responseType": "tool-response", "agentReaction": "speaks",
                             "errorType": None, "errorMessage": None, "updateCallState": None}, sender="client") == []
    assert message_problems({"type": "user_text_message", "text": "hi", "urgency": "soon", "deferResponse": True}, sender="client") == []
    assert message_problems({"type": "user_text_message", "text": "hi", "defer_response": True}, sender="client") == [
        "$.defer_response: unknown field"
    ]
    assert message_problems({"type": "client_tool_result", "invocationId": "i", "agentReaction": "talks"}, sender="client")
    assert message_problems({"type": "transcript", "role": "agent", "text": "a", "delta": "a", "final": True, "ordinal": 0}, sender="server")
    assert message_problems({"type": "state", "state": "dreaming"}, sender="server")
    assert message_problems({"type": "pong", "timestamp": 1.0}, sender="client") == ["$.type: unknown client message 'pong'"]


def test_call_requests_are_held_to_start_call_request() -> None:
    body = {"systemPrompt": "x", "model": "fixie-ai/ultravox", "voice": "Mark", "firstSpeaker": "FIRST_SPEAKER_USER",
            "medium": {"serverWebSocket": {"inputSampleRate": 16000, "outputSampleRate": 24000, "clientBufferSizeMs": 30000}},
            "selectedTools": [{"temporaryTool": {"modelToolName": "t", "description": "d", "client": {},
                               "dynamicParameters": [{"name": "p", "location": "PARAMETER_LOCATION_BODY",
                                                      "schema": {"type": "string"}, "required": True}]}}]}  # fmt: skip
    assert call_request_problems(body) == []
    assert call_request_problems({**body, "system_prompt": "x"}) == ["$.system_prompt: unknown field"]
    assert call_request_problems({**body, "firstSpeaker": "USER"})
    assert call_request_problems({**body, "medium": {"serverWebSocket": {"outputSampleRate": 24000}}}) == [
        "$.medium.serverWebSocket.inputSampleRate: required"
    ]


async def test_a_wrong_key_is_refused_and_a_good_call_is_joined() -> None:
    async with FakeUltravox() as fake, aiohttp.ClientSession() as http:
        body = {"systemPrompt": "x", "medium": {"serverWebSocket": {"inputSampleRate": 16000}}}
        async with http.post(f"{fake.base_url}/calls", json=body, headers={"X-API-Key": "nope"}) as resp:
            assert resp.status == 401
        async with http.post(f"{fake.base_url}/calls", json=body, headers={"X-API-Key": fake.api_key}) as resp:
            assert resp.status == 201
            join_url = (await resp.json())["joinUrl"]
        async with http.ws_connect(join_url) as ws:
            first = await ws.receive_json()
            assert first == {"type": "call_started", "callId": fake.last.id}
    assert fake.rejected == [(401, "Invalid API key.")] and not fake.schema_violations


async def test_pings_are_not_answered_on_their_own(fake_ultravox: FakeUltravox) -> None:
    """The plugin answers every pong with a new ping (``_handle_pong_event``): one pong, one ping."""
    from livekit.plugins import ultravox  # noqa: F401

    from ..support import controlled_session
    from .fixtures import ultravox_env

    fake = fake_ultravox
    async with controlled_session("ultravox", ultravox_env(fake)) as c:
        call = await fake.wait_for_calls(1)
        await call.pong(123.0)
        await fake.wait_for("ping")
        fake.queue_text("Hi.")  # a fence: a turn after it, by when a ping-pong loop would have run on
        await call.user_says("hello")
        await until(lambda: "Hi." in c.history_texts(), what="the reply")
        assert len(call.messages("ping")) == 1
        assert [m for m in call.sent if m["type"] == "pong"] == [{"type": "pong", "timestamp": 123.0}]
        assert c.errors == []

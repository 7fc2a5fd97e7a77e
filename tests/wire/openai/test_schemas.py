"""The schema checks the OpenAI fakes run on every message (``schemas.py``) can fail: fed bad
messages, they name the unknown or missing field; fed good ones, they say nothing.

Every wire test that uses the ``fake_openai`` or ``fake_chat`` fixture is a schema test too:
the fixture fails the test at teardown when the fake recorded a violation (both ways:
what the real plugin sent and what the fake answered).
"""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest

from ..checks import fail_on_schema_violations
from ..pipeline.fake_chat_completions import FakeChatCompletions
from .schemas import (
    chat_completion_chunk_problems,
    chat_completion_problems,
    chat_request_problems,
    realtime_client_event_problems,
    realtime_server_event_problems,
)

# ------------------------------------------------------------------------------------------
# Realtime events
# ------------------------------------------------------------------------------------------

GOOD_ERROR = {
    "type": "error",
    "event_id": "event_1",
    "error": {"type": "invalid_request_error", "code": "cannot_update_voice",
              "message": "m", "param": None, "event_id": None},
}

GOOD_USER_ITEM = {
    "type": "conversation.item.create",
    "event_id": "ev_1",
    "previous_item_id": "root",
    "item": {"id": "item_1", "type": "message", "role": "user",
             "content": [{"type": "input_text", "text": "hi"}]},
}

GOOD_RESPONSE_DONE = {
    "type": "response.done",
    "event_id": "event_2",
    "response": {
        "object": "realtime.response", "id": "resp_1", "status": "cancelled",
        "status_details": {"type": "cancelled", "reason": "client_cancelled"},
        "output": [{"id": "item_2", "object": "realtime.item", "type": "message",
                    "role": "assistant", "status": "incomplete",
                    "content": [{"type": "output_text", "text": "Once"}]}],
        "usage": None, "metadata": {"client_event_id": "x"},
    },
}


def test_good_realtime_events_have_no_problems() -> None:
    assert realtime_server_event_problems(GOOD_ERROR) == []
    assert realtime_server_event_problems(GOOD_RESPONSE_DONE) == []
    assert realtime_client_event_problems(GOOD_USER_ITEM) == []


def test_an_unknown_field_is_reported_at_any_depth() -> None:
    # the SDK's models accept unknown keys silently (extra="allow"); the check does not
    assert realtime_server_event_problems({**GOOD_ERROR, "surprise": 1}) == [
        "$.surprise: unknown field, not declared by RealtimeErrorEvent"
    ]
    bad = json.loads(json.dumps(GOOD_ERROR))
    bad["error"]["details"] = "x"
    assert realtime_server_event_problems(bad) == [
        "$.error.details: unknown field, not declared by RealtimeError"
    ]
    # inside a list inside a union member (the user message of ConversationItem)
    bad = json.loads(json.dumps(GOOD_USER_ITEM))
    bad["item"]["content"][0]["meta"] = {}
    (problem,) = realtime_client_event_problems(bad)
    assert problem.startswith("$.item.content[0].meta: unknown field")
    # the livekit/agents#3210 case: a tool with a "meta" key
    update = {"type": "session.update", "session": {"type": "realtime", "tools": [
        {"type": "function", "name": "f", "parameters": {}, "meta": None}]}}
    (problem,) = realtime_client_event_problems(update)
    assert problem.startswith("$.session.tools[0].meta: unknown field")


def test_a_missing_required_field_is_reported() -> None:
    bad = json.loads(json.dumps(GOOD_ERROR))
    del bad["error"]["message"]
    assert realtime_server_event_problems(bad) == [
        "$.error.message: missing required field (RealtimeError)"
    ]
    # a server event without its event_id
    assert realtime_server_event_problems({k: v for k, v in GOOD_ERROR.items() if k != "event_id"}) == [
        "$.event_id: missing required field (RealtimeErrorEvent)"
    ]
    # the union member is picked by its literal keys: a function_call_output without call_id
    output = {"type": "conversation.item.create",
              "item": {"type": "function_call_output", "output": "done"}}
    assert realtime_client_event_problems(output) == [
        "$.item.call_id: missing required field (RealtimeConversationItemFunctionCallOutput)"
    ]


def test_wrong_values_and_unknown_event_types_are_reported() -> None:
    bad = json.loads(json.dumps(GOOD_RESPONSE_DONE))
    bad["response"]["status_details"]["reason"] = "user_left"
    (problem,) = realtime_server_event_problems(bad)
    assert problem.startswith("$.response.status_details.reason: 'user_left' is not one of")
    bad = json.loads(json.dumps(GOOD_USER_ITEM))
    bad["item"]["content"][0]["type"] = "output_text"  # a user message cannot hold output text
    (problem,) = realtime_client_event_problems(bad)
    assert problem.startswith("$.item.content[0].type: 'output_text' is not one of")
    assert realtime_client_event_problems({"type": "response.pause"}) == [
        "$.type: unknown event type 'response.pause'"
    ]


# ------------------------------------------------------------------------------------------
# Chat Completions
# ------------------------------------------------------------------------------------------

GOOD_CHUNK = {
    "id": "chatcmpl_1", "object": "chat.completion.chunk", "created": 1, "model": "m",
    "system_fingerprint": "fp", "choices": [
        {"index": 0, "delta": {"content": "Hi"}, "logprobs": None, "finish_reason": None}],
}
GOOD_REQUEST = {
    "model": "m", "stream": True, "stream_options": {"include_usage": True},
    "messages": [
        {"role": "system", "content": "sys"},
        {"role": "user", "content": [{"type": "text", "text": "hi"}]},
        {"role": "assistant", "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "ok"},
    ],
    "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}],
    "tool_choice": "auto", "parallel_tool_calls": True,
}


def test_chat_chunks_and_completions() -> None:
    assert chat_completion_chunk_problems(GOOD_CHUNK) == []
    bad = json.loads(json.dumps(GOOD_CHUNK))
    bad["choices"][0]["delta"]["speaker"] = "x"
    assert chat_completion_chunk_problems(bad) == [
        "$.choices[0].delta.speaker: unknown field, not declared by ChoiceDelta"
    ]
    assert chat_completion_chunk_problems({k: v for k, v in GOOD_CHUNK.items() if k != "choices"}) == [
        "$.choices: missing required field (ChatCompletionChunk)"
    ]
    completion = {
        "id": "chatcmpl_1", "object": "chat.completion", "created": 1, "model": "m",
        "choices": [{"index": 0, "finish_reason": "stop", "logprobs": None,
                     "message": {"role": "assistant", "content": "Hi", "refusal": None}}],
    }
    assert chat_completion_problems(completion) == []
    completion["choices"][0]["message"]["mood"] = "fine"
    assert chat_completion_problems(completion) == [
        "$.choices[0].message.mood: unknown field, not declared by ChatCompletionMessage"
    ]


def test_chat_requests() -> None:
    assert chat_request_problems(GOOD_REQUEST) == []
    assert chat_request_problems({**GOOD_REQUEST, "temprature": 0.5}) == [
        "$.temprature: unknown field, not declared by CompletionCreateParamsStreaming"
    ]
    body = {k: v for k, v in GOOD_REQUEST.items() if k != "messages"}
    assert chat_request_problems(body) == [
        "$.messages: missing required field (CompletionCreateParamsStreaming)"
    ]
    # message shapes follow their role
    tool_without_id = {**GOOD_REQUEST, "messages": [{"role": "tool", "content": "x"}]}
    assert chat_request_problems(tool_without_id) == [
        "$.messages[0].tool_call_id: missing required field (ChatCompletionToolMessageParam)"
    ]
    bad_role = {**GOOD_REQUEST, "messages": [{"role": "narrator", "content": "x"}]}
    assert chat_request_problems(bad_role)  # no member of ChatCompletionMessageParam fits


# ------------------------------------------------------------------------------------------
# The fakes record what fails, and the fixtures fail the test on it
# ------------------------------------------------------------------------------------------


async def test_the_chat_fake_refuses_and_records_a_request_the_sdk_cannot_express(
    fake_chat: FakeChatCompletions,
) -> None:
    url = fake_chat.base_url + "/chat/completions"
    body: dict[str, Any] = {"model": "m", "stream": True, "speed": "fast",
                            "messages": [{"role": "user", "content": "hi"}]}
    async with aiohttp.ClientSession() as http, http.post(url, json=body) as resp:
        assert resp.status == 400
        error = (await resp.json())["error"]
    assert error == {"message": "Unrecognized request argument supplied: speed",
                     "type": "invalid_request_error", "param": None, "code": None}
    assert fake_chat.requests == []
    assert fake_chat.schema_violations == [
        "request #0: $.speed: unknown field, not declared by CompletionCreateParamsStreaming"
    ]
    with pytest.raises(pytest.fail.Exception, match="1 schema violation"):
        fail_on_schema_violations(fake_chat)
    fake_chat.schema_violations.clear()  # seen: let the fixture's teardown pass

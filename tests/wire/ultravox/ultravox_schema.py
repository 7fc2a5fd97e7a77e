"""What Ultravox accepts and sends, written out from references nobody on the team wrote.

- **Data messages** (the WebSocket's JSON, both ways): Ultravox's docs, "Protocol & Data
  Messages" (docs.ultravox.ai/apps/datamessages; source fixie-ai/ultradox
  ``apps/datamessages.mdx`` at eafa459): "All messages are JSON objects with camelCase
  keys", each with a ``type``. ``deferResponse`` on a user text message is documented
  with the deferred messages (``agents/guiding-agents.mdx``) and the SDK's ``sendText``
  (``sdk-reference/introduction.mdx``); Ultravox's JS SDK sends it under that name
  (fixie-ai/ultravox-client-sdk-js ``src/index.ts``).
- **Server messages** are also parsed with the plugin's own models
  (``livekit.plugins.ultravox.realtime.events.parse_ultravox_event``), so the fake never
  sends what the plugin would not read.
- **Creating a call** (``POST /api/calls``): ``ultravox.v1.StartCallRequest`` of
  Ultravox's OpenAPI schema (api.ultravox.ai/api/schema/, as mirrored in
  tryAGI/Ultravox ``src/libs/Ultravox/openapi.yaml``); only the parts the plugin can
  send are spelled out below, and an unknown key anywhere in them is an error.

Each checker returns a list of problems, ``"<path>: <what>"`` (empty: valid).
"""

from __future__ import annotations

from typing import Any

__all__ = ["CLIENT", "SERVER", "call_request_problems", "message_problems"]

STR, NUM, INT, BOOL, OBJ, ARR = str, (int, float), int, bool, dict, list


def _enum(*values: str) -> tuple[str, ...]:
    return values


# type -> {field: (json type or enum values, required)}
CLIENT: dict[str, dict[str, tuple[Any, bool]]] = {
    "ping": {"timestamp": (NUM, True)},
    "user_text_message": {
        "text": (STR, True),
        "urgency": (_enum("immediate", "soon", "later"), False),
        "deferResponse": (BOOL, False),
        "threadId": (STR, False),
    },
    "set_output_medium": {"medium": (_enum("voice", "text"), True)},
    "client_tool_result": {
        "invocationId": (STR, True),
        "result": (STR, False),
        "responseType": (STR, False),
        "agentReaction": (_enum("speaks", "listens", "speaks-once"), False),
        "errorType": (_enum("undefined", "implementation-error"), False),
        "errorMessage": (STR, False),
        "updateCallState": (OBJ, False),
    },
    "forced_agent_message": {
        "content": (STR, False),
        "toolCalls": (ARR, False),
        "uninterruptible": (BOOL, False),
        "urgency": (_enum("immediate", "soon"), False),
    },
    "hang_up": {"message": (STR, False)},
}

SERVER: dict[str, dict[str, tuple[Any, bool]]] = {
    "pong": {"timestamp": (NUM, True)},
    "state": {"state": (_enum("idle", "listening", "thinking", "speaking"), True)},
    "transcript": {
        "role": (_enum("user", "agent"), True),
        "medium": (_enum("text", "voice"), False),
        "text": (STR, False),
        "delta": (STR, False),
        "final": (BOOL, True),
        "ordinal": (INT, True),
    },
    "client_tool_invocation": {
        "toolName": (STR, True),
        "invocationId": (STR, True),
        "parameters": (OBJ, True),
    },
    "call_started": {"callId": (STR, True)},
    "playback_clear_buffer": {},
    "debug": {"message": (STR, True)},
}


def _value_problems(path: str, value: Any, kind: Any) -> list[str]:
    if isinstance(kind, tuple) and kind and all(isinstance(k, str) for k in kind):
        return [] if value in kind else [f"{path}: {value!r} is not one of {', '.join(kind)}"]
    if kind is INT or kind is NUM:
        ok = isinstance(value, kind) and not isinstance(value, bool)
    else:
        ok = isinstance(value, kind)
    return [] if ok else [f"{path}: expected {getattr(kind, '__name__', kind)}, got {type(value).__name__}"]


def _fields_problems(path: str, msg: dict[str, Any], fields: dict[str, tuple[Any, bool]]) -> list[str]:
    problems = [f"{path}.{k}: unknown field" for k in msg if k not in fields]
    for name, (kind, required) in fields.items():
        if name not in msg:
            if required:
                problems.append(f"{path}.{name}: required")
        elif msg[name] is not None:  # the docs print absent optionals as null
            problems += _value_problems(f"{path}.{name}", msg[name], kind)
    return problems


def message_problems(msg: Any, *, sender: str) -> list[str]:
    """A data message from the ``client`` or the ``server``, against the docs' fields."""
    table = CLIENT if sender == "client" else SERVER
    if not isinstance(msg, dict):
        return ["$: a data message is a JSON object"]
    kind = msg.get("type")
    if kind not in table:
        return [f"$.type: unknown {sender} message {kind!r}"]
    problems = _fields_problems("$", {k: v for k, v in msg.items() if k != "type"}, table[kind])
    if kind == "transcript" and (msg.get("text") is None) == (msg.get("delta") is None):
        problems.append("$: a transcript sets exactly one of text and delta")
    return problems


# ultravox.v1.StartCallRequest and what it nests, as far as the plugin can fill it
_START_CALL = {
    "systemPrompt": (STR, False), "temperature": (NUM, False), "model": (STR, False),
    "voice": (STR, False), "externalVoice": (OBJ, False), "languageHint": (STR, False),
    "initialMessages": (ARR, False), "joinTimeout": (STR, False), "maxDuration": (STR, False),
    "timeExceededMessage": (STR, False), "inactivityMessages": (ARR, False),
    "selectedTools": (ARR, False), "medium": (OBJ, False), "recordingEnabled": (BOOL, False),
    "firstSpeaker": (_enum("FIRST_SPEAKER_UNSPECIFIED", "FIRST_SPEAKER_AGENT", "FIRST_SPEAKER_USER"), False),
    "transcriptOptional": (BOOL, False),
    "initialOutputMedium": (_enum("MESSAGE_MEDIUM_UNSPECIFIED", "MESSAGE_MEDIUM_VOICE", "MESSAGE_MEDIUM_TEXT"), False),
    "vadSettings": (OBJ, False), "firstSpeakerSettings": (OBJ, False), "experimentalSettings": (OBJ, False),
    "metadata": (OBJ, False), "initialState": (OBJ, False), "dataConnection": (OBJ, False),
    "callbacks": (OBJ, False), "voiceOverrides": (OBJ, False), "retentionPolicy": (STR, False),
    "sharedSecrets": (ARR, False),
}  # fmt: skip
_CALL_MEDIUM = {k: (OBJ, False) for k in ("webRtc", "twilio", "serverWebSocket", "telnyx", "plivo", "exotel", "sip")}
_WEBSOCKET_MEDIUM = {
    "inputSampleRate": (INT, True),  # "required" in the docs (apps/websockets.mdx)
    "outputSampleRate": (INT, False), "clientBufferSizeMs": (INT, False),
    "dataMessages": (OBJ, False), "mediaIdleTimeout": (STR, False),
}  # fmt: skip
_SELECTED_TOOL = {
    "toolId": (STR, False), "toolName": (STR, False), "temporaryTool": (OBJ, False),
    "nameOverride": (STR, False), "descriptionOverride": (STR, False), "authTokens": (OBJ, False),
    "parameterOverrides": (OBJ, False), "transitionId": (STR, False),
}  # fmt: skip
_TOOL_DEFINITION = {
    "modelToolName": (STR, False), "description": (STR, False), "dynamicParameters": (ARR, False),
    "staticParameters": (ARR, False), "automaticParameters": (ARR, False), "requirements": (OBJ, False),
    "timeout": (STR, False), "precomputable": (BOOL, False), "http": (OBJ, False), "client": (OBJ, False),
    "dataConnection": (OBJ, False), "defaultReaction": (STR, False), "staticResponse": (OBJ, False),
}  # fmt: skip
_DYNAMIC_PARAMETER = {
    "name": (STR, False),
    "location": (_enum("PARAMETER_LOCATION_UNSPECIFIED", "PARAMETER_LOCATION_QUERY", "PARAMETER_LOCATION_PATH",
                       "PARAMETER_LOCATION_HEADER", "PARAMETER_LOCATION_BODY"), False),
    "schema": (OBJ, False), "required": (BOOL, False),
}  # fmt: skip


def call_request_problems(body: Any) -> list[str]:
    """A ``POST /calls`` body, against ``StartCallRequest``."""
    if not isinstance(body, dict):
        return ["$: the body is a JSON object"]
    problems = _fields_problems("$", body, _START_CALL)
    medium = body.get("medium") or {}
    if isinstance(medium, dict):
        problems += _fields_problems("$.medium", medium, _CALL_MEDIUM)
        if isinstance(ws := medium.get("serverWebSocket"), dict):
            problems += _fields_problems("$.medium.serverWebSocket", ws, _WEBSOCKET_MEDIUM)
    for i, tool in enumerate(body.get("selectedTools") or ()):
        where = f"$.selectedTools[{i}]"
        if not isinstance(tool, dict):
            problems.append(f"{where}: expected an object")
            continue
        problems += _fields_problems(where, tool, _SELECTED_TOOL)
        definition = tool.get("temporaryTool")
        if isinstance(definition, dict):
            problems += _fields_problems(f"{where}.temporaryTool", definition, _TOOL_DEFINITION)
            if definition.get("client") not in (None, {}):
                problems.append(f"{where}.temporaryTool.client: BaseClientToolDetails has no fields")
            for j, p in enumerate(definition.get("dynamicParameters") or ()):
                problems += _fields_problems(f"{where}.temporaryTool.dynamicParameters[{j}]", p, _DYNAMIC_PARAMETER)
                if p.get("location") not in (None, "PARAMETER_LOCATION_BODY") and "client" in definition:
                    # "Only body parameters are allowed for client tools." (BaseToolDefinition.client)
                    problems.append(f"{where}.temporaryTool.dynamicParameters[{j}].location: client tools take body parameters only")
    return problems

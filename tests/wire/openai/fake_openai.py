"""A loopback fake of the OpenAI Realtime API (GA protocol, WebSocket).

It speaks enough of the protocol for the real ``livekit.plugins.openai.realtime.RealtimeModel``
(livekit-plugins-openai 1.8.9) to drive a real ``AgentSession``, and records every client
event so tests can assert on what went over the wire.

Usage::

    async with FakeOpenAIRealtime() as server:
        server.queue_function_call("switch_persona", {"persona": "pirate"})
        server.queue_text("Arr, the pirate is here.")
        model = openai.realtime.RealtimeModel(modalities=["text"], **server.model_kwargs())
        ...
        assert server.events("session.update")[-1]["session"]["instructions"] == "X"

Replies are scripted: every ``response.create`` consumes the next queued reply (a list of
outputs, each a :class:`FunctionCall` or an :class:`AssistantText`); when the script is
empty, ``default_reply`` is used (``None`` answers with an empty completed response).

It is as strict as the real service where a client can trip over it:

- **Schema.** Every server event it sends and every client event it receives is checked
  against the ``openai`` SDK's own types (``RealtimeServerEvent`` / ``RealtimeClientEvent``,
  see ``schemas.py``), unknown fields included; what fails is recorded in
  ``server.schema_violations`` (the ``fake_openai`` fixture fails the test at teardown) and a
  client event that fails is refused with an ``error`` event and not applied, as the service
  does (``unknown_parameter`` / ``missing_required_parameter`` / ``invalid_value``).
- **Errors echo the offending client event's ``event_id``** in ``error.event_id`` (null when
  the request carried none), as the service does (livekit/agents#3398, #2064);
  ``error_event_ids=False`` always sends null instead.
- ``conversation.item.create`` with an unknown ``previous_item_id``, or a
  ``function_call_output`` whose ``call_id`` matches no ``function_call`` item in the
  conversation, is an error and adds nothing.
- One response at a time: ``response.create`` while a response is active is answered with
  ``conversation_already_has_active_response``.
- ``response.cancel`` ends the active response with ``response.done`` status ``cancelled``
  (``status_details.reason`` ``client_cancelled``), keeping the partial item (its content so
  far, status ``incomplete``) in the conversation; :meth:`OpenAIConnection.cancel_response`
  does the same from the server side (``turn_detected``, as server VAD would).
- Replies stream at ``pace`` seconds between deltas (text in several deltas, audio in 100 ms
  chunks), so a barge-in or a hand-off while the model is still talking can be tested; a
  cancel mid-stream stops the deltas.
- A ``session.update`` that changes the voice once the connection has produced assistant
  audio is rejected as a whole (``cannot_update_voice``); :meth:`refuse_next_session_update`
  scripts any other refusal. A refused update gets an ``error`` and no ``session.updated``,
  and leaves the session unchanged; each accepted one is confirmed by ``session.updated``.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.server import ServerConnection

from ..loopback import LoopbackConnection, LoopbackWebSocketServer, pcm16_tone_b64
from .schemas import realtime_client_event_problems, realtime_server_event_problems

__all__ = [
    "AssistantText",
    "FakeOpenAIRealtime",
    "FunctionCall",
    "OpenAIConnection",
    "SessionUpdateRefusal",
    "CANNOT_UPDATE_VOICE_MESSAGE",
]

# Exact wording observed from the real service (openai/openai-python#2607; also
# openai/openai-agents-python#1661, whose client sent no event id).
CANNOT_UPDATE_VOICE_MESSAGE = "Cannot update a conversation's voice if assistant audio is present."

SAMPLE_RATE = 24000
_DEFAULT_VOICE = "alloy"


@dataclass
class FunctionCall:
    """A scripted ``function_call`` output item (its arguments streamed in two deltas)."""

    name: str
    arguments: dict[str, Any] | str = field(default_factory=dict)
    call_id: str | None = None


@dataclass
class AssistantText:
    """A scripted assistant ``message`` output item.

    ``audio=None`` follows the session's ``output_modalities`` (audio + transcript when the
    session asked for audio, else plain text); ``True``/``False`` force it.
    The text is streamed in up to ``text_deltas`` deltas (a transcript for audio replies,
    interleaved with ``audio_chunks`` deltas of 100 ms of PCM16 each).
    """

    text: str
    audio: bool | None = None
    audio_chunks: int = 2
    text_deltas: int = 3


@dataclass
class SessionUpdateRefusal:
    """How the next ``session.update`` is refused (see ``refuse_next_session_update``)."""

    code: str = "invalid_value"
    message: str = "Invalid value."
    param: str | None = None
    type: str = "invalid_request_error"


Output = FunctionCall | AssistantText
Reply = Sequence[Output]


_AUDIO_CHUNK_B64 = pcm16_tone_b64(440, SAMPLE_RATE)


def _deep_merge(dst: dict[str, Any], src: dict[str, Any]) -> None:
    for k, v in src.items():
        if isinstance(v, dict) and isinstance(dst.get(k), dict):
            _deep_merge(dst[k], v)
        else:
            dst[k] = copy.deepcopy(v)


def _requested_voice(session: dict[str, Any]) -> str | None:
    """The voice a session object asks for (GA nested form, or beta flat form)."""
    audio = session.get("audio")
    if isinstance(audio, dict):
        out = audio.get("output")
        if isinstance(out, dict) and out.get("voice") is not None:
            return out["voice"]
    return session.get("voice")


def _split(text: str, pieces: int) -> list[str]:
    """``text`` in up to ``pieces`` consecutive pieces (at least one, possibly empty)."""
    if not text:
        return [""]
    n = max(1, min(pieces, len(text)))
    size = -(-len(text) // n)
    return [text[i : i + size] for i in range(0, len(text), size)]


def _rejection(problems: list[str]) -> tuple[str, str, str | None]:
    """The service's answer to a client event that does not match the schema:
    (code, message, param), from the first problem. The real service names the parameter
    by its dotted path, e.g. code ``unknown_parameter``, "Unknown parameter:
    'session.tools[0].meta'." (livekit/agents#3210); ``missing_required_parameter``,
    "Missing required parameter: 'item.call_id'." (community.openai.com/t/966495)."""
    first = problems[0]
    path, _, what = first.partition(": ")
    param = path[2:] if path.startswith("$.") else None
    if "unknown field" in what:
        return "unknown_parameter", f"Unknown parameter: '{param}'.", param
    if "missing" in what:
        return "missing_required_parameter", f"Missing required parameter: '{param}'.", param
    if what.startswith("unknown event type"):
        return "invalid_value", f"Invalid value: {what}.", "type"
    return "invalid_value", f"Invalid value for '{param}': {what}.", param


class _Response:
    """The response being generated on a connection."""

    def __init__(self, resp_id: str, event_id: str | None) -> None:
        self.id = resp_id
        self.event_id = event_id
        self.cancel_reason: str | None = None
        self.cancelled = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    def cancel(self, reason: str) -> None:
        if self.cancel_reason is None:
            self.cancel_reason = reason
            self.cancelled.set()


class OpenAIConnection(LoopbackConnection):
    """One client WebSocket connection, as the fake saw it.

    ``received`` holds every client event, parsed; ``sent`` every server event; once
    ``audio_produced`` the voice is locked.
    """

    _server: FakeOpenAIRealtime

    def __init__(self, server: FakeOpenAIRealtime, ws: ServerConnection, index: int) -> None:
        super().__init__(server, ws, index)
        self.items: list[dict[str, Any]] = []
        """the server-side conversation (items in order)"""
        self.response: _Response | None = None
        """the active response, if any (one at a time, as on the service)"""
        model = (self.query.get("model") or ["gpt-realtime"])[0]
        # RealtimeSessionCreateRequest (the SDK's type of session.created/updated.session)
        # declares no "id"/"object", so the fake does not send them
        self.session: dict[str, Any] = {
            "type": "realtime",
            "model": model,
            "output_modalities": ["audio"],
            "instructions": "",
            "tools": [],
            "tool_choice": "auto",
            "max_output_tokens": "inf",
            "audio": {
                "input": {"format": {"type": "audio/pcm", "rate": SAMPLE_RATE}},
                "output": {
                    "format": {"type": "audio/pcm", "rate": SAMPLE_RATE},
                    "voice": _DEFAULT_VOICE,
                    "speed": 1.0,
                },
            },
        }

    # ---- accessors -------------------------------------------------------------------------

    @property
    def model(self) -> str:
        return (self.query.get("model") or [""])[0]

    @property
    def voice(self) -> str | None:
        return _requested_voice(self.session)

    @property
    def instructions(self) -> str:
        return self.session.get("instructions", "")

    def events(self, type: str | None = None) -> list[dict[str, Any]]:
        """Client events received on this connection, optionally of one ``type``."""
        return [e for e in self.received if type is None or e.get("type") == type]

    def sent_events(self, type: str | None = None) -> list[dict[str, Any]]:
        """Server events sent on this connection, optionally of one ``type``."""
        return [e for e in self.sent if type is None or e.get("type") == type]

    def item_ids(self) -> list[str]:
        return [it["id"] for it in self.items]

    # ---- server side actions ---------------------------------------------------------------

    async def send(self, event: dict[str, Any]) -> None:
        """Send a raw server event (an ``event_id`` is added when missing); it is checked
        against the SDK's ``RealtimeServerEvent`` first (see ``schema_violations``)."""
        event = dict(event)
        event.setdefault("event_id", self._server._new_id("event"))
        if self._server.validate_schema:
            self._server._record_violations(
                f"conn {self.index}: sent {event.get('type')!r} #{len(self.sent)}",
                realtime_server_event_problems(event),
            )
        await super().send(event)

    async def send_text_response(self, resp: str, item_id: str, previous: str, text: str) -> None:
        """A text reply the model starts on its own, as with server turn detection (no
        response.create asked for it): the whole event sequence of one response with one
        assistant message ``item_id`` after ``previous``."""
        base = {"object": "realtime.response", "id": resp, "metadata": None, "output_modalities": ["text"]}
        common = {"response_id": resp, "item_id": item_id, "output_index": 0, "content_index": 0}
        item = {"id": item_id, "object": "realtime.item", "type": "message", "role": "assistant",
                "status": "in_progress", "content": []}  # fmt: skip
        done = {**item, "status": "completed", "content": [{"type": "output_text", "text": text}]}
        usage = {"total_tokens": 3, "input_tokens": 2, "output_tokens": 1,
                 "input_token_details": {"text_tokens": 2, "audio_tokens": 0, "cached_tokens": 0},
                 "output_token_details": {"text_tokens": 1, "audio_tokens": 0}}  # fmt: skip
        await self.send({"type": "response.created", "response": {**base, "status": "in_progress", "output": [], "usage": None}})
        await self.send({"type": "response.output_item.added", "response_id": resp, "output_index": 0, "item": item})
        await self.send({"type": "conversation.item.added", "previous_item_id": previous, "item": item})
        await self.send({"type": "response.content_part.added", **common, "part": {"type": "text", "text": ""}})
        await self.send({"type": "response.output_text.delta", **common, "delta": text})
        await self.send({"type": "response.output_text.done", **common, "text": text})
        await self.send({"type": "response.content_part.done", **common, "part": {"type": "text", "text": text}})
        await self.send({"type": "response.output_item.done", "response_id": resp, "output_index": 0, "item": done})
        self.items.append(done)
        await self.send({"type": "conversation.item.done", "previous_item_id": previous, "item": done})
        await self.send({"type": "response.done", "response": {**base, "status": "completed", "output": [done], "usage": usage}})

    async def send_error(
        self,
        code: str,
        message: str,
        *,
        type: str = "invalid_request_error",
        param: str | None = None,
        event_id: str | None = None,
    ) -> None:
        """Send an ``error`` event; ``event_id`` is the *client* event it answers (the
        service echoes it; see :meth:`_error_event_id`)."""
        await self.send(
            {
                "type": "error",
                "error": {
                    "type": type,
                    "code": code,
                    "message": message,
                    "param": param,
                    "event_id": event_id,
                },
            }
        )

    async def cancel_response(self, reason: str = "turn_detected") -> bool:
        """End the active response as the service does on its own (``turn_detected``: the
        server VAD heard the user start speaking), like a ``response.cancel``. False when no
        response was active."""
        resp = self.response
        if resp is None or resp.cancel_reason is not None:
            return False
        resp.cancel(reason)
        await self._finish(resp)
        return True

    async def wait_for_response_done(self, timeout: float = 3.0) -> None:
        """Wait until no response is active on this connection."""
        await self._server._wait(lambda: self.response is None, timeout, "response.done")

    # ---- protocol --------------------------------------------------------------------------

    def _error_event_id(self, ev: dict[str, Any]) -> str | None:
        # The service echoes the id of the client event it refuses (livekit/agents#3398:
        # event_id='tools_update_…' on an unknown_parameter error; #2064: response_create_…;
        # #3210, #6817). The null ids reported elsewhere (openai/openai-agents-python#1661,
        # #1466, openai/openai-python#2607) come from clients that send no event id.
        return ev.get("event_id") if self._server.error_event_ids else None

    async def _handle(self, ev: dict[str, Any]) -> None:
        t = ev.get("type")
        if t == "session.update":
            await self._on_session_update(ev)
        elif t == "conversation.item.create":
            await self._on_item_create(ev)
        elif t == "conversation.item.delete":
            await self._on_item_delete(ev)
        elif t == "conversation.item.truncate":
            await self.send(
                {
                    "type": "conversation.item.truncated",
                    "item_id": ev.get("item_id"),
                    "content_index": ev.get("content_index", 0),
                    "audio_end_ms": ev.get("audio_end_ms", 0),
                }
            )
        elif t == "conversation.item.retrieve":
            item = self._find(ev.get("item_id"))
            if item is not None:
                await self.send({"type": "conversation.item.retrieved", "item": item})
        elif t == "response.create":
            await self._on_response_create(ev)
        elif t == "response.cancel":
            await self._on_response_cancel(ev)
        elif t == "input_audio_buffer.commit":
            await self.send(
                {
                    "type": "input_audio_buffer.committed",
                    "previous_item_id": self.items[-1]["id"] if self.items else None,
                    "item_id": self._server._new_id("item"),
                }
            )
        elif t == "input_audio_buffer.clear":
            await self.send({"type": "input_audio_buffer.cleared"})
        # input_audio_buffer.append and anything else: recorded only

    async def _on_session_update(self, ev: dict[str, Any]) -> None:
        upd = ev.get("session") or {}
        refusal = self._server._next_session_update_refusal
        if refusal is not None:
            # a scripted refusal: an error (naming the update) and no session.updated; the
            # session is left as it was, as on any refused update
            self._server._next_session_update_refusal = None
            await self.send_error(
                refusal.code, refusal.message, type=refusal.type, param=refusal.param,
                event_id=self._error_event_id(ev),
            )
            return
        new_voice = _requested_voice(upd)
        if (
            self._server.reject_voice_change_after_audio
            and new_voice is not None
            and self.audio_produced
            and new_voice != self.voice
        ):
            # the real service rejects the whole update and leaves the session unchanged
            await self.send_error(
                "cannot_update_voice", CANNOT_UPDATE_VOICE_MESSAGE,
                event_id=self._error_event_id(ev),
            )
            return
        _deep_merge(self.session, upd)
        # each accepted update is confirmed by session.updated (the whole session)
        await self.send({"type": "session.updated", "session": copy.deepcopy(self.session)})

    def _find(self, item_id: str | None) -> dict[str, Any] | None:
        return next((it for it in self.items if it.get("id") == item_id), None)

    def _insert(self, item: dict[str, Any], previous_item_id: str | None) -> str | None:
        """Insert like the service: None appends, "root" prepends, else after that item
        (which the caller checked exists)."""
        if previous_item_id == "root":
            self.items.insert(0, item)
            return None
        if previous_item_id is not None:
            for i, it in enumerate(self.items):
                if it["id"] == previous_item_id:
                    self.items.insert(i + 1, item)
                    return previous_item_id
        prev = self.items[-1]["id"] if self.items else None
        self.items.append(item)
        return prev

    async def _on_item_create(self, ev: dict[str, Any]) -> None:
        item = copy.deepcopy(ev.get("item") or {})
        item.setdefault("id", self._server._new_id("item"))
        if self._find(item["id"]) is not None:
            await self.send_error(
                "item_create_duplicate_item_id",
                f"Item with item_id '{item['id']}' already exists.",
                param="item.id",
                event_id=self._error_event_id(ev),
            )
            return
        previous_item_id = ev.get("previous_item_id")
        if previous_item_id not in (None, "root") and self._find(previous_item_id) is None:
            # SDK, ConversationItemCreateEvent.previous_item_id: "If the ID cannot be found,
            # an error will be returned and the item will not be added." Wording as in
            # speaches-ai/speaches src/speaches/realtime/conversation_event_router.py (a
            # re-implementation of the API); the code is this fake's own name for it.
            await self.send_error(
                "item_create_invalid_previous_item_id",
                f"Error adding item: the previous item with id '{previous_item_id}' does not exist.",
                param="previous_item_id",
                event_id=self._error_event_id(ev),
            )
            return
        if item.get("type") == "function_call_output" and not any(
            it.get("type") == "function_call" and it.get("call_id") == item.get("call_id")
            for it in self.items
        ):
            # SDK, openai.types.beta.realtime.ConversationItem.call_id: "If passed on a
            # function_call_output item, the server will check that a function_call item with
            # the same ID exists in the conversation history." Wording as reported from the
            # service (community.openai.com/t/1302944); the code is this fake's own name.
            await self.send_error(
                "item_create_invalid_call_id",
                f"Tool call ID '{item.get('call_id')}' not found in conversation.",
                param="item.call_id",
                event_id=self._error_event_id(ev),
            )
            return
        item.setdefault("object", "realtime.item")
        item.setdefault("status", "completed")
        prev = self._insert(item, previous_item_id)
        await self.send(
            {"type": "conversation.item.added", "previous_item_id": prev, "item": item}
        )
        await self.send({"type": "conversation.item.done", "previous_item_id": prev, "item": item})

    async def _on_item_delete(self, ev: dict[str, Any]) -> None:
        item_id = ev.get("item_id")
        item = self._find(item_id)
        if item is None:
            await self.send_error(
                "item_delete_invalid_item_id",
                f"Error deleting item: the item with id '{item_id}' does not exist.",
                param="item_id",
                event_id=self._error_event_id(ev),
            )
            return
        self.items.remove(item)
        await self.send({"type": "conversation.item.deleted", "item_id": item_id})

    # ---- responses -------------------------------------------------------------------------

    async def _on_response_create(self, ev: dict[str, Any]) -> None:
        if self.response is not None:
            # SDK, ResponseCreateEvent: "Only one Response can write to the default
            # Conversation at a time". Code and wording as the service sends them
            # (openai/openai-agents-python#1466, livekit/agents#6817).
            await self.send_error(
                "conversation_already_has_active_response",
                f"Conversation already has an active response in progress: {self.response.id}. "
                "Wait until the response is finished before creating a new one.",
                event_id=self._error_event_id(ev),
            )
            return
        resp = _Response(self._server._new_id("resp"), ev.get("event_id"))
        self.response = resp
        resp.task = asyncio.create_task(self._run_response(resp, ev.get("response") or {}))

    async def _on_response_cancel(self, ev: dict[str, Any]) -> None:
        resp = self.response
        wanted = ev.get("response_id")
        if resp is None or resp.cancel_reason is not None or (wanted and wanted != resp.id):
            # SDK, ResponseCancelEvent: "If there is no response to cancel, the server will
            # respond with an error." (the plugin ignores "Cancellation failed" errors)
            await self.send_error(
                "response_cancel_not_active",
                "Cancellation failed: no active response found",
                event_id=self._error_event_id(ev),
            )
            return
        # SDK, ResponseCancelEvent: "The server will respond with a response.done event
        # with a status of response.status=cancelled"; RealtimeResponseStatus.reason:
        # "client_cancelled (the client sent a cancel event)"
        resp.cancel("client_cancelled")
        await self._finish(resp)

    async def _finish(self, resp: _Response) -> None:
        """Wait until ``resp`` sent its ``response.done`` (it stops at the next delta)."""
        if resp.task is not None and resp.task is not asyncio.current_task():
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(resp.task)

    async def _tick(self, resp: _Response) -> bool:
        """Pause ``pace`` seconds between deltas; True once the response is cancelled.

        The service streams a reply as it is generated, in many deltas (SDK:
        ResponseTextDeltaEvent "Returned when the text value of an "output_text" content part
        is updated", ResponseAudioDeltaEvent "Returned when the model-generated audio is
        updated"), and ``response.done`` is "Always emitted, no matter the final state"
        (ResponseDoneEvent), a cancelled one included."""
        pace = self._server.pace
        if pace > 0 and not resp.cancelled.is_set():
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(resp.cancelled.wait(), pace)
        else:
            await asyncio.sleep(0)
        return resp.cancelled.is_set()

    async def _run_response(self, resp: _Response, params: dict[str, Any]) -> None:
        try:
            await self._stream_response(resp, params)
        except Exception as e:  # a broken fake must fail the test, not go quiet
            self._server.failures.append(f"conn {self.index}: streaming {resp.id} failed: {e!r}")
            raise
        finally:
            if self.response is resp:
                self.response = None
            self._server._notify()

    async def _stream_response(self, resp: _Response, params: dict[str, Any]) -> None:
        reply = self._server._next_reply()
        if self._server.response_delay:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(resp.cancelled.wait(), self._server.response_delay)
        modalities = params.get("output_modalities") or self.session.get(
            "output_modalities", ["audio"]
        )
        base = {
            "object": "realtime.response",
            "id": resp.id,
            "conversation_id": f"conv_fake{self.index}",
            "metadata": params.get("metadata"),
            "output_modalities": modalities,
            "audio": {"output": {"format": {"type": "audio/pcm", "rate": SAMPLE_RATE},
                                 "voice": self.voice}},
        }
        await self.send(
            {
                "type": "response.created",
                "response": {**base, "status": "in_progress", "status_details": None,
                             "output": [], "usage": None},
            }
        )
        outputs: list[dict[str, Any]] = []
        for out_idx, out in enumerate(reply):
            if resp.cancelled.is_set():
                break
            if isinstance(out, FunctionCall):
                outputs.append(await self._send_function_call(resp, out_idx, out))
            else:
                audio = out.audio if out.audio is not None else "audio" in modalities
                outputs.append(await self._send_message(resp, out_idx, out, audio))
        if resp.cancel_reason is not None:
            status, details = "cancelled", {"type": "cancelled", "reason": resp.cancel_reason}
        else:
            status, details = "completed", None
        await self.send(
            {
                "type": "response.done",
                "response": {
                    **base,
                    "status": status,
                    "status_details": details,
                    "output": outputs,
                    "usage": {
                        "total_tokens": 30,
                        "input_tokens": 20,
                        "output_tokens": 10,
                        "input_token_details": {"text_tokens": 20, "audio_tokens": 0,
                                                "cached_tokens": 0},
                        "output_token_details": {"text_tokens": 10, "audio_tokens": 0},
                    },
                },
            }
        )

    async def _open_item(self, resp: _Response, out_idx: int, item: dict[str, Any]) -> str | None:
        await self.send({"type": "response.output_item.added", "response_id": resp.id,
                         "output_index": out_idx, "item": copy.deepcopy(item)})
        prev = self._insert(copy.deepcopy(item), None)
        await self.send({"type": "conversation.item.added", "previous_item_id": prev,
                         "item": copy.deepcopy(item)})
        return prev

    async def _close_item(
        self, resp: _Response, out_idx: int, prev: str | None, done: dict[str, Any]
    ) -> dict[str, Any]:
        """Store the item's final state and announce it (SDK, ResponseOutputItemDoneEvent:
        "Also emitted when a Response is interrupted, incomplete, or cancelled")."""
        stored = self._find(done["id"])
        if stored is not None:
            stored.update(copy.deepcopy(done))
        await self.send({"type": "response.output_item.done", "response_id": resp.id,
                         "output_index": out_idx, "item": done})
        await self.send({"type": "conversation.item.done", "previous_item_id": prev,
                         "item": done})
        return done

    async def _send_function_call(self, resp: _Response, out_idx: int, fc: FunctionCall) -> dict:
        args = fc.arguments if isinstance(fc.arguments, str) else json.dumps(fc.arguments)
        item_id = self._server._new_id("item")
        call_id = fc.call_id or self._server._new_id("call")
        item = {
            "id": item_id,
            "object": "realtime.item",
            "type": "function_call",
            "status": "in_progress",
            "name": fc.name,
            "call_id": call_id,
            "arguments": "",
        }
        prev = await self._open_item(resp, out_idx, item)
        common = {"response_id": resp.id, "item_id": item_id, "output_index": out_idx,
                  "call_id": call_id}
        sent = ""
        for piece in _split(args, 2):
            if await self._tick(resp):
                break
            sent += piece
            await self.send({"type": "response.function_call_arguments.delta", **common,
                             "delta": piece})
        complete = sent == args and not resp.cancelled.is_set()
        if complete:
            await self.send({"type": "response.function_call_arguments.done", **common,
                             "name": fc.name, "arguments": args})
        done = {**item, "status": "completed" if complete else "incomplete", "arguments": sent}
        return await self._close_item(resp, out_idx, prev, done)

    async def _send_message(
        self, resp: _Response, out_idx: int, msg: AssistantText, audio: bool
    ) -> dict:
        item_id = self._server._new_id("item")
        item = {
            "id": item_id,
            "object": "realtime.item",
            "type": "message",
            "role": "assistant",
            "status": "in_progress",
            "content": [],
        }
        common = {"response_id": resp.id, "item_id": item_id, "output_index": out_idx,
                  "content_index": 0}
        prev = await self._open_item(resp, out_idx, item)
        pieces = _split(msg.text, msg.text_deltas)
        said = ""
        if audio:
            await self.send({"type": "response.content_part.added", **common,
                             "part": {"type": "audio", "transcript": ""}})
            chunks = max(1, msg.audio_chunks)
            for step in range(max(len(pieces), chunks)):
                if await self._tick(resp):
                    break
                if step < len(pieces) and pieces[step]:
                    said += pieces[step]
                    await self.send({"type": "response.output_audio_transcript.delta", **common,
                                     "delta": pieces[step]})
                if step < chunks:
                    await self.send({"type": "response.output_audio.delta", **common,
                                     "delta": _AUDIO_CHUNK_B64})
                    self.audio_produced = True
            await self.send({"type": "response.output_audio.done", **common})
            await self.send({"type": "response.output_audio_transcript.done", **common,
                             "transcript": said})
            await self.send({"type": "response.content_part.done", **common,
                             "part": {"type": "audio", "transcript": said}})
            final_part = {"type": "output_audio", "transcript": said}
        else:
            await self.send({"type": "response.content_part.added", **common,
                             "part": {"type": "text", "text": ""}})
            for piece in pieces:
                if await self._tick(resp):
                    break
                if piece:
                    said += piece
                    await self.send({"type": "response.output_text.delta", **common,
                                     "delta": piece})
            await self.send({"type": "response.output_text.done", **common, "text": said})
            await self.send({"type": "response.content_part.done", **common,
                             "part": {"type": "text", "text": said}})
            final_part = {"type": "output_text", "text": said}
        # a cancelled message keeps what was said so far, as an incomplete item
        status = "incomplete" if resp.cancelled.is_set() and said != msg.text else "completed"
        done = {**item, "status": status, "content": [final_part]}
        return await self._close_item(resp, out_idx, prev, done)

    def _mark_closed(self) -> None:
        super()._mark_closed()
        if self.response is not None and self.response.task is not None:
            self.response.task.cancel()


class FakeOpenAIRealtime(LoopbackWebSocketServer[OpenAIConnection]):
    """Loopback OpenAI Realtime server. Use as ``async with`` (or the ``fake_openai`` fixture).

    Args:
        default_reply: outputs used when ``response.create`` arrives and the script is empty;
            ``None`` answers with an empty (no output) completed response.
        reject_voice_change_after_audio: emulate ``cannot_update_voice`` (default True).
        error_event_ids: echo the offending client ``event_id`` in ``error.event_id`` of
            every error, as the real service does (default); False sends ``null``.
        response_delay: seconds between ``response.create`` and ``response.created`` (the
            response is active meanwhile).
        pace: seconds between the deltas of a reply (0: as fast as possible). Mutable.
        validate_schema: check every event against the SDK's types (default True); see
            ``schema_violations``.
    """

    api_key = "sk-fake-loopback"
    connection_class = OpenAIConnection

    def __init__(
        self,
        *,
        default_reply: Reply | None = (AssistantText("OK."),),
        reject_voice_change_after_audio: bool = True,
        error_event_ids: bool = True,
        response_delay: float = 0.0,
        pace: float = 0.0,
        validate_schema: bool = True,
    ) -> None:
        super().__init__(response_delay=response_delay)
        self.default_reply = list(default_reply) if default_reply is not None else []
        self.reject_voice_change_after_audio = reject_voice_change_after_audio
        self.error_event_ids = error_event_ids
        self.pace = pace
        self.validate_schema = validate_schema
        self._next_session_update_refusal: SessionUpdateRefusal | None = None
        self.failures: list[str] = []
        """errors inside the fake itself (the wire fixture fails the test on them)"""

    # ---- how to point the plugin at it -----------------------------------------------------

    @property
    def base_url(self) -> str:
        """Pass as ``RealtimeModel(base_url=...)``; the plugin turns it into
        ``ws://127.0.0.1:PORT/v1/realtime?model=...`` (``process_base_url``)."""
        assert self.port is not None, "server not started"
        return f"http://127.0.0.1:{self.port}/v1"

    def model_kwargs(self) -> dict[str, Any]:
        return {"base_url": self.base_url, "api_key": self.api_key}

    def realtime_model(self, **kwargs: Any) -> Any:
        """A real ``livekit.plugins.openai.realtime.RealtimeModel`` pointed at this server."""
        from livekit.plugins.openai.realtime import RealtimeModel

        return RealtimeModel(**{**self.model_kwargs(), **kwargs})

    # ---- scripting (queue_reply: one response made of these output items, in order) -------

    def queue_function_call(
        self, name: str, arguments: dict[str, Any] | str | None = None, *,
        call_id: str | None = None,
    ) -> None:
        self.queue_reply(FunctionCall(name, arguments or {}, call_id))

    def queue_text(
        self, text: str, *, audio: bool | None = None, audio_chunks: int = 2, text_deltas: int = 3
    ) -> None:
        self.queue_reply(AssistantText(text, audio=audio, audio_chunks=audio_chunks,
                                       text_deltas=text_deltas))

    def refuse_next_session_update(
        self,
        code: str = "invalid_value",
        message: str = "Invalid value.",
        *,
        param: str | None = None,
        type: str = "invalid_request_error",
    ) -> None:
        """Refuse the next ``session.update`` (on any connection) as the service refuses one:
        an ``error`` event (naming the update's ``event_id``), no
        ``session.updated``, the session unchanged. One update only."""
        self._next_session_update_refusal = SessionUpdateRefusal(code, message, param, type)

    # ---- recorded traffic ------------------------------------------------------------------

    @property
    def received(self) -> list[dict[str, Any]]:
        """All client events over all connections, in connection order."""
        return [e for c in self.connections for e in c.received]

    def events(self, type: str | None = None) -> list[dict[str, Any]]:
        return [e for c in self.connections for e in c.events(type)]

    def sent_events(self, type: str | None = None) -> list[dict[str, Any]]:
        return [e for c in self.connections for e in c.sent_events(type)]

    def _received_of(self, kind: str) -> list[dict[str, Any]]:
        return self.events(kind)  # wait_for: client events of a type

    def _sent_of(self, kind: str) -> list[dict[str, Any]]:
        return self.sent_events(kind)  # wait_for_sent: server events of a type

    def _progress(self) -> str:
        return f"received: {[e.get('type') for e in self.received]}"

    # ---- the protocol on one connection ----------------------------------------------------

    async def _converse(self, conn: OpenAIConnection, ws: ServerConnection) -> None:
        await conn.send({"type": "session.created", "session": copy.deepcopy(conn.session)})
        async for raw in ws:
            try:
                ev = json.loads(raw)
            except (TypeError, ValueError):
                await conn.send_error("invalid_json", "Invalid JSON")
                continue
            conn.received.append(ev)
            self._notify()
            if self.validate_schema:
                problems = realtime_client_event_problems(ev)
                if problems:
                    kind = ev.get("type") if isinstance(ev, dict) else None
                    self._record_violations(
                        f"conn {conn.index}: received {kind!r} #{len(conn.received) - 1}", problems
                    )
                    # the service refuses the whole event and applies nothing of it
                    code, message, param = _rejection(problems)
                    await conn.send_error(
                        code, message, param=param,
                        event_id=conn._error_event_id(ev) if isinstance(ev, dict) else None,
                    )
                    continue
            await conn._handle(ev)

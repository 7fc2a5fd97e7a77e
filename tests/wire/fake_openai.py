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

Like the real service, a ``session.update`` that changes the voice once the connection has
produced assistant audio is rejected as a whole with an ``error`` event whose code is
``cannot_update_voice``.
"""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.server import ServerConnection

from .loopback import LoopbackConnection, LoopbackWebSocketServer, pcm16_tone_b64

__all__ = [
    "AssistantText",
    "FakeOpenAIRealtime",
    "FunctionCall",
    "OpenAIConnection",
    "CANNOT_UPDATE_VOICE_MESSAGE",
]

# Exact wording observed from the real service (openai/openai-python#2607).
CANNOT_UPDATE_VOICE_MESSAGE = "Cannot update a conversation's voice if assistant audio is present."

SAMPLE_RATE = 24000
_DEFAULT_VOICE = "alloy"


@dataclass
class FunctionCall:
    """A scripted ``function_call`` output item."""

    name: str
    arguments: dict[str, Any] | str = field(default_factory=dict)
    call_id: str | None = None


@dataclass
class AssistantText:
    """A scripted assistant ``message`` output item.

    ``audio=None`` follows the session's ``output_modalities`` (audio + transcript when the
    session asked for audio, else plain text); ``True``/``False`` force it.
    ``audio_chunks`` deltas of 100 ms of PCM16 each are sent for audio replies.
    """

    text: str
    audio: bool | None = None
    audio_chunks: int = 2


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
        model = (self.query.get("model") or ["gpt-realtime"])[0]
        self.session: dict[str, Any] = {
            "id": f"sess_fake{index}",
            "object": "realtime.session",
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
        """Send a raw server event (an ``event_id`` is added when missing)."""
        event = dict(event)
        event.setdefault("event_id", self._server._new_id("event"))
        await super().send(event)

    async def send_error(
        self,
        code: str,
        message: str,
        *,
        type: str = "invalid_request_error",
        param: str | None = None,
        event_id: str | None = None,
    ) -> None:
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

    # ---- protocol --------------------------------------------------------------------------

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
            # responses are sent in one go, so there is never one to cancel
            await self.send_error(
                "response_cancel_not_active",
                "Cancellation failed: no active response found",
                event_id=ev.get("event_id"),
            )
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
        new_voice = _requested_voice(upd)
        if (
            self._server.reject_voice_change_after_audio
            and new_voice is not None
            and self.audio_produced
            and new_voice != self.voice
        ):
            # the real service rejects the whole update and leaves the session unchanged
            await self.send_error(
                "cannot_update_voice",
                CANNOT_UPDATE_VOICE_MESSAGE,
                event_id=ev.get("event_id") if self._server.error_event_ids else None,
            )
            return
        _deep_merge(self.session, upd)
        await self.send({"type": "session.updated", "session": copy.deepcopy(self.session)})

    def _find(self, item_id: str | None) -> dict[str, Any] | None:
        return next((it for it in self.items if it.get("id") == item_id), None)

    def _insert(self, item: dict[str, Any], previous_item_id: str | None) -> str | None:
        """Insert like the service: None appends, "root" prepends, else after that item."""
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
                event_id=ev.get("event_id"),
            )
            return
        item.setdefault("object", "realtime.item")
        item.setdefault("status", "completed")
        prev = self._insert(item, ev.get("previous_item_id"))
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
                event_id=ev.get("event_id"),
            )
            return
        self.items.remove(item)
        await self.send({"type": "conversation.item.deleted", "item_id": item_id})

    async def _on_response_create(self, ev: dict[str, Any]) -> None:
        params = ev.get("response") or {}
        reply = self._server._next_reply()
        if self._server.response_delay:
            await asyncio.sleep(self._server.response_delay)
        resp_id = self._server._new_id("resp")
        metadata = params.get("metadata")
        modalities = params.get("output_modalities") or self.session.get(
            "output_modalities", ["audio"]
        )
        base = {
            "object": "realtime.response",
            "id": resp_id,
            "conversation_id": f"conv_fake{self.index}",
            "metadata": metadata,
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
            if isinstance(out, FunctionCall):
                outputs.append(await self._send_function_call(resp_id, out_idx, out))
            else:
                audio = out.audio if out.audio is not None else "audio" in modalities
                outputs.append(await self._send_message(resp_id, out_idx, out, audio))
        await self.send(
            {
                "type": "response.done",
                "response": {
                    **base,
                    "status": "completed",
                    "status_details": None,
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

    async def _send_function_call(self, resp_id: str, out_idx: int, fc: FunctionCall) -> dict:
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
        await self.send({"type": "response.output_item.added", "response_id": resp_id,
                         "output_index": out_idx, "item": dict(item)})
        prev = self._insert(dict(item), None)
        await self.send({"type": "conversation.item.added", "previous_item_id": prev,
                         "item": dict(item)})
        await self.send({"type": "response.function_call_arguments.delta",
                         "response_id": resp_id, "item_id": item_id, "output_index": out_idx,
                         "call_id": call_id, "delta": args})
        await self.send({"type": "response.function_call_arguments.done",
                         "response_id": resp_id, "item_id": item_id, "output_index": out_idx,
                         "call_id": call_id, "name": fc.name, "arguments": args})
        done = {**item, "status": "completed", "arguments": args}
        stored = self._find(item_id)
        if stored is not None:
            stored.update(done)
        await self.send({"type": "response.output_item.done", "response_id": resp_id,
                         "output_index": out_idx, "item": done})
        await self.send({"type": "conversation.item.done", "previous_item_id": prev,
                         "item": done})
        return done

    async def _send_message(
        self, resp_id: str, out_idx: int, msg: AssistantText, audio: bool
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
        common = {"response_id": resp_id, "item_id": item_id, "output_index": out_idx,
                  "content_index": 0}
        await self.send({"type": "response.output_item.added", "response_id": resp_id,
                         "output_index": out_idx, "item": dict(item)})
        prev = self._insert(copy.deepcopy(item), None)
        await self.send({"type": "conversation.item.added", "previous_item_id": prev,
                         "item": dict(item)})
        if audio:
            part = {"type": "audio", "transcript": ""}
            await self.send({"type": "response.content_part.added", **common, "part": part})
            await self.send({"type": "response.output_audio_transcript.delta", **common,
                             "delta": msg.text})
            for _ in range(max(1, msg.audio_chunks)):
                await self.send({"type": "response.output_audio.delta", **common,
                                 "delta": _AUDIO_CHUNK_B64})
                self.audio_produced = True
            await self.send({"type": "response.output_audio.done", **common})
            await self.send({"type": "response.output_audio_transcript.done", **common,
                             "transcript": msg.text})
            final_part = {"type": "output_audio", "transcript": msg.text}
            await self.send({"type": "response.content_part.done", **common,
                             "part": {"type": "audio", "transcript": msg.text}})
        else:
            part = {"type": "text", "text": ""}
            await self.send({"type": "response.content_part.added", **common, "part": part})
            await self.send({"type": "response.output_text.delta", **common, "delta": msg.text})
            await self.send({"type": "response.output_text.done", **common, "text": msg.text})
            final_part = {"type": "output_text", "text": msg.text}
            await self.send({"type": "response.content_part.done", **common,
                             "part": {"type": "text", "text": msg.text}})
        done = {**item, "status": "completed", "content": [final_part]}
        stored = self._find(item_id)
        if stored is not None:
            stored.update(copy.deepcopy(done))
        await self.send({"type": "response.output_item.done", "response_id": resp_id,
                         "output_index": out_idx, "item": done})
        await self.send({"type": "conversation.item.done", "previous_item_id": prev,
                         "item": done})
        return done


class FakeOpenAIRealtime(LoopbackWebSocketServer[OpenAIConnection]):
    """Loopback OpenAI Realtime server. Use as ``async with`` (or the ``fake_openai`` fixture).

    Args:
        default_reply: outputs used when ``response.create`` arrives and the script is empty;
            ``None`` answers with an empty (no output) completed response.
        reject_voice_change_after_audio: emulate ``cannot_update_voice`` (default True).
        error_event_ids: put the offending client ``event_id`` into ``error.event_id`` of the
            ``cannot_update_voice`` error (the real service was seen sending ``null``).
        response_delay: seconds to wait before answering each ``response.create``.
    """

    api_key = "sk-fake-loopback"
    connection_class = OpenAIConnection

    def __init__(
        self,
        *,
        default_reply: Reply | None = (AssistantText("OK."),),
        reject_voice_change_after_audio: bool = True,
        error_event_ids: bool = False,
        response_delay: float = 0.0,
    ) -> None:
        super().__init__(response_delay=response_delay)
        self.default_reply = list(default_reply) if default_reply is not None else []
        self.reject_voice_change_after_audio = reject_voice_change_after_audio
        self.error_event_ids = error_event_ids

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

    def queue_text(self, text: str, *, audio: bool | None = None, audio_chunks: int = 2) -> None:
        self.queue_reply(AssistantText(text, audio=audio, audio_chunks=audio_chunks))

    # ---- recorded traffic ------------------------------------------------------------------

    @property
    def received(self) -> list[dict[str, Any]]:
        """All client events over all connections, in connection order."""
        return [e for c in self.connections for e in c.received]

    def events(self, type: str | None = None) -> list[dict[str, Any]]:
        return [e for c in self.connections for e in c.events(type)]

    def sent_events(self, type: str | None = None) -> list[dict[str, Any]]:
        return [e for c in self.connections for e in c.sent_events(type)]

    async def wait_for(
        self,
        type: str,
        *,
        where: Callable[[dict[str, Any]], bool] | None = None,
        count: int = 1,
        timeout: float = 3.0,
    ) -> dict[str, Any]:
        """Wait until ``count`` client events of ``type`` (matching ``where``) arrived;
        return the last one."""
        return await self._wait_for_match(lambda: self.events(type), where, count, timeout, type)

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
            await conn._handle(ev)

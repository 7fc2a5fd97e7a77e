"""A loopback fake of Ultravox's call API, for the real livekit-plugins-ultravox.

What it speaks (each behaviour from a reference nobody on the team wrote):

- ``POST /api/calls`` with an ``X-API-Key`` header creates a call and answers 201 with a
  ``Call`` whose ``joinUrl`` is a WebSocket on this server (Ultravox docs,
  apps/websockets.mdx "Creating a WebSocket Call"; OpenAPI ``calls_create``). The body
  is checked against ``StartCallRequest`` (``ultravox_schema.py``); a bad key is a 401, a
  bad body a 400.
- On the call's WebSocket, binary frames are PCM16 audio both ways (apps/websockets.mdx:
  "chunk should be a bytes object containing s16le PCM audio"), text frames JSON data
  messages (apps/datamessages.mdx), all checked against the docs' fields and, for what
  the fake sends, the plugin's own models (``ultravox_schema.py``).
- The server reports ``state`` (``idle | listening | thinking | speaking``) and
  ``transcript``s, ``role`` user or agent, the agent's in ``delta``s closed by a
  ``final`` one, each utterance with its own ``ordinal`` (apps/datamessages.mdx).
- ``user_text_message``: the text joins the call's conversation "as if it came from the
  user"; ``deferResponse: true`` adds it "without inducing an immediate response"
  (agents/guiding-agents.mdx, sdk-reference sendText), otherwise the agent answers it,
  and the text comes back as a user transcript (livekit/agents#3339: "Ultravox API
  returns the text sent via session.generate_reply() as user transcript again"). Empty
  text with ``urgency: immediate`` interrupts the agent: ``playback_clear_buffer``
  ("drop as much unplayed output audio as possible", apps/datamessages.mdx).
- A tool call is a ``client_tool_invocation``; "the conversation is frozen while tools
  run" (OpenAPI BaseToolDefinition.timeout) until the ``client_tool_result`` with that
  ``invocationId`` arrives; then the agent reacts as ``agentReaction`` says: ``speaks``
  (the default when absent), ``listens``, or ``speaks-once`` (docs
  tools/custom/agent-responses). A result for an invocation this call never made is a
  protocol error (it "must match the invocationId from the corresponding invocation").
- ``forced_agent_message``: the agent says ``content`` as given.
- ``ping`` is answered only when a test calls :meth:`UltravoxCall.pong`: the plugin sends
  a new ping for every pong it reads (``_handle_pong_event``), so answering each ping
  would loop forever.

Replies are scripted like the other fakes: a reply the agent gives consumes the next
``queue_reply`` (a list of :class:`Text` and :class:`ToolCall`); with none queued it says
``default_text``. A reply opened by a :class:`Text` with an ``after`` event waits for it (a
model slow to answer).
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from ..loopback import LoopbackHttpServer
from .ultravox_schema import call_request_problems, message_problems

__all__ = ["FakeUltravox", "Text", "ToolCall", "UltravoxCall"]

SILENCE_20MS_24K = b"\x01\x00" * 480  # non-zero PCM16: the plugin times the first audio byte


@dataclass
class Text:
    text: str
    pieces: int = 2
    after: asyncio.Event | None = None  # the reply this text opens starts only once it is set


@dataclass
class ToolCall:
    name: str
    parameters: dict[str, Any] = field(default_factory=dict)


class UltravoxCall:
    """One call: its creation request, its WebSocket, and the conversation as the server keeps it."""

    def __init__(self, server: FakeUltravox, call_id: str, body: dict[str, Any], query: dict[str, str]) -> None:
        self.server = server
        self.id = call_id
        self.body = body
        self.query = query
        self.medium = "voice"
        self.received: list[dict[str, Any]] = []  # JSON client messages, in order
        self.audio_in = 0  # bytes of user audio received
        self.sent: list[dict[str, Any]] = []  # JSON server messages, in order
        self.conversation: list[tuple[str, str]] = []  # (user|agent|tool_call|tool_result, text)
        self.joined = False
        self.closed = False
        self._ws: web.WebSocketResponse | None = None
        self._ordinal = 0
        self._pending_tool: str | None = None  # invocationId the conversation waits for
        self._spoke_before_tool = False
        self._generation: asyncio.Task[None] | None = None

    # ---- what it was created with ----------------------------------------------------------

    @property
    def system_prompt(self) -> str:
        return self.body.get("systemPrompt", "")

    @property
    def voice(self) -> str | None:
        return self.body.get("voice")

    @property
    def tool_names(self) -> list[str]:
        return [t["temporaryTool"]["modelToolName"] for t in self.body.get("selectedTools") or ()]

    def messages(self, kind: str) -> list[dict[str, Any]]:
        return [m for m in self.received if m.get("type") == kind]

    def history_before_first_turn(self) -> list[tuple[str, str]]:
        """What the call was given before anything asked for a reply: the history it carries."""
        seeded: list[tuple[str, str]] = []
        for m in self.received:
            if m["type"] == "user_text_message" and m.get("deferResponse") is True:
                seeded.append(("user", m["text"]))
            elif m["type"] in ("user_text_message", "forced_agent_message", "client_tool_result"):
                break
        return seeded

    # ---- sending ---------------------------------------------------------------------------

    async def send(self, message: dict[str, Any]) -> None:
        self.server._check(f"call {self.id} sent #{len(self.sent)}", message, "server")
        self.sent.append(message)
        self.server._notify()
        if self._ws is not None and not self._ws.closed:
            await self._ws.send_str(json.dumps(message))

    async def pong(self, timestamp: float) -> None:
        await self.send({"type": "pong", "timestamp": timestamp})

    async def user_says(self, text: str) -> None:
        """The user's speech, as the server hears it: a final voice transcript, then the reply."""
        await self.user_heard(text)
        self._start_reply()

    async def user_heard(self, text: str) -> None:
        """The user's words, transcribed, with no reply started for them (the agent is about
        to answer something else)."""
        self.conversation.append(("user", text))
        await self._transcript("user", text, medium="voice")

    async def hang_up(self) -> None:
        if self._ws is not None:
            await self._ws.close()

    # ---- the conversation ------------------------------------------------------------------

    async def _transcript(self, role: str, text: str, *, medium: str | None = None, pieces: int = 1) -> None:
        ordinal, self._ordinal = self._ordinal, self._ordinal + 1
        medium = medium or self.medium
        if role == "agent" and pieces > 1:
            size = -(-len(text) // pieces)
            for i in range(0, len(text), size):
                await self.send({"type": "transcript", "role": role, "medium": medium,
                                 "delta": text[i : i + size], "final": False, "ordinal": ordinal})
            await self.send({"type": "transcript", "role": role, "medium": medium, "text": text,
                             "final": True, "ordinal": ordinal})
        else:
            if role == "agent":
                await self.send({"type": "transcript", "role": role, "medium": medium, "delta": text,
                                 "final": False, "ordinal": ordinal})
            await self.send({"type": "transcript", "role": role, "medium": medium, "text": text,
                             "final": True, "ordinal": ordinal})

    async def _say(self, text: str, pieces: int = 2) -> None:
        await self.send({"type": "state", "state": "speaking"})
        if self.medium == "voice" and self._ws is not None:
            await self._ws.send_bytes(SILENCE_20MS_24K)
        await self._transcript("agent", text, pieces=pieces)
        self.conversation.append(("agent", text))

    def _start_reply(self) -> None:
        if self._pending_tool is not None:
            return  # frozen until the tool result
        self._generation = asyncio.create_task(self._reply(self.server._next_reply()))

    async def _reply(self, outputs: list[Text | ToolCall]) -> None:
        if outputs and isinstance(outputs[0], Text) and outputs[0].after is not None:
            await outputs[0].after.wait()  # a model slow to answer
        if self.server.response_delay:
            await asyncio.sleep(self.server.response_delay)
        await self.send({"type": "state", "state": "thinking"})
        self._spoke_before_tool = False
        for out in outputs:
            if isinstance(out, Text):
                await self._say(out.text, out.pieces)
                self._spoke_before_tool = True
            else:
                invocation = f"inv-{uuid.uuid4()}"
                self._pending_tool = invocation
                self.conversation.append(("tool_call", json.dumps({out.name: out.parameters})))
                await self.send({"type": "client_tool_invocation", "toolName": out.name,
                                 "invocationId": invocation, "parameters": out.parameters})
                return  # the rest waits for the result
        await self.send({"type": "state", "state": "listening"})

    async def _on_message(self, msg: dict[str, Any]) -> None:
        kind = msg.get("type")
        if kind == "user_text_message":
            text = msg["text"]
            if text:
                self.conversation.append(("user", text))
            if msg.get("urgency") == "immediate" and self._generation and not self._generation.done():
                self._generation.cancel()
                await self.send({"type": "playback_clear_buffer"})
                await self.send({"type": "state", "state": "listening"})
            if msg.get("deferResponse") is True:
                return
            if text:
                await self._transcript("user", text, medium="text")
            self._start_reply()
        elif kind == "client_tool_result":
            if msg["invocationId"] != self._pending_tool:
                self.server.failures.append(
                    f"call {self.id}: client_tool_result for {msg['invocationId']!r}, which this call "
                    f"never invoked (waiting for {self._pending_tool!r})"
                )
                return
            self._pending_tool = None
            self.conversation.append(("tool_result", msg.get("result") or f"error: {msg.get('errorType')}"))
            reaction = msg.get("agentReaction") or "speaks"
            if reaction == "speaks" or (reaction == "speaks-once" and not self._spoke_before_tool):
                self._start_reply()
            else:
                await self.send({"type": "state", "state": "listening"})
        elif kind == "forced_agent_message":
            self._generation = asyncio.create_task(self._forced(msg.get("content", "")))
        elif kind == "set_output_medium":
            self.medium = msg["medium"]

    async def _forced(self, content: str) -> None:
        await self._say(content, pieces=1)
        await self.send({"type": "state", "state": "listening"})

    async def _serve(self, ws: web.WebSocketResponse) -> None:
        self._ws, self.joined = ws, True
        self.server._notify()
        try:
            await self.send({"type": "call_started", "callId": self.id})
            await self.send({"type": "state", "state": "listening"})
            async for frame in ws:
                if frame.type == WSMsgType.BINARY:
                    self.audio_in += len(frame.data)
                    continue
                if frame.type != WSMsgType.TEXT:
                    break
                msg = json.loads(frame.data)
                self.server._check(f"call {self.id} received #{len(self.received)}", msg, "client")
                self.received.append(msg)
                self.server._notify()
                await self._on_message(msg)
        finally:
            if self._generation is not None:
                self._generation.cancel()
            self.closed = True
            self.server._notify()


class FakeUltravox(LoopbackHttpServer):
    """Use as ``async with`` (or the ``fake_ultravox`` fixture); point the plugin at
    :attr:`base_url` with :attr:`api_key`."""

    api_key = "uv-fake-loopback"

    def __init__(self, *, default_text: str = "OK.", response_delay: float = 0.0) -> None:
        super().__init__(response_delay=response_delay)
        self.default_text = default_text
        self.calls: list[UltravoxCall] = []
        self.rejected: list[tuple[int, str]] = []  # (status, reason) of refused call requests
        self.failures: list[str] = []  # protocol errors the service would not accept

    # ---- lifecycle -------------------------------------------------------------------------

    def _app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/api/calls", self._on_create_call)
        app.router.add_get("/api/calls/{call_id}/ws", self._on_join)
        return app

    async def _close(self) -> None:
        for call in self.calls:
            await call.hang_up()
        await super()._close()

    @property
    def base_url(self) -> str:
        assert self.port is not None, "server not started"
        return f"http://127.0.0.1:{self.port}/api"

    # ---- scripting -------------------------------------------------------------------------

    def queue_text(self, text: str, *, pieces: int = 2, after: asyncio.Event | None = None) -> None:
        """``after``: the reply starts only once it is set."""
        self.queue_reply(Text(text, pieces, after))

    def queue_tool_call(self, name: str, parameters: dict[str, Any] | None = None) -> None:
        self.queue_reply(ToolCall(name, parameters or {}))

    def take_unused_replies(self) -> list[list[Text | ToolCall]]:
        """Empty the script; return what no reply used (a test can check a call kept quiet)."""
        unused, self._script = self._script, []
        return unused

    def _default_reply(self) -> list[Text | ToolCall]:
        return [Text(self.default_text)]

    # ---- waiting ---------------------------------------------------------------------------

    @property
    def last(self) -> UltravoxCall:
        return self.calls[-1]

    async def wait_for_calls(self, n: int, timeout: float = 3.0) -> UltravoxCall:
        """Wait until ``n`` calls were joined; return the n-th."""
        await self._wait(lambda: sum(c.joined for c in self.calls) >= n, timeout, f"{n} joined calls")
        return [c for c in self.calls if c.joined][n - 1]

    async def wait_for(self, kind: str, *, where: Any = None, count: int = 1, timeout: float = 3.0) -> dict[str, Any]:
        """Wait until ``count`` client messages of ``kind`` (matching ``where``) arrived, over all calls."""
        return await self._wait_for_match(
            lambda: [m for c in self.calls for m in c.messages(kind)], where, count, timeout, kind
        )

    def _progress(self) -> str:
        return f"calls: {[(c.id, len(c.received)) for c in self.calls]}"

    # ---- internals -------------------------------------------------------------------------

    def _check(self, where: str, message: dict[str, Any], sender: str) -> None:
        problems = message_problems(message, sender=sender)
        if sender == "server" and not problems:
            from livekit.plugins.ultravox.realtime.events import parse_ultravox_event

            try:
                parse_ultravox_event(message)
            except ValueError as e:
                problems = [f"$: the plugin's models refuse it: {e}"]
        self._record_violations(where, problems)

    def _reject(self, status: int, reason: str) -> web.Response:
        self.rejected.append((status, reason))
        self._notify()
        return web.json_response({"detail": reason}, status=status)

    async def _on_create_call(self, request: web.Request) -> web.Response:
        if request.headers.get("X-API-Key") != self.api_key:
            return self._reject(401, "Invalid API key.")
        try:
            body = await request.json()
        except ValueError:
            return self._reject(400, "the body is not JSON")
        problems = call_request_problems(body)
        if problems:
            self._record_violations(f"POST /calls #{len(self.calls) + len(self.rejected)}", problems)
            return self._reject(400, "; ".join(problems))
        call_id = str(uuid.uuid4())
        call = UltravoxCall(self, call_id, body, dict(request.query))
        self.calls.append(call)
        self._notify()
        join_url = f"ws://127.0.0.1:{self.port}/api/calls/{call_id}/ws"
        created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        keys = ("systemPrompt", "model", "voice", "temperature", "languageHint", "firstSpeaker", "medium")
        return web.json_response(
            {"callId": call_id, "created": created, "joinUrl": join_url, **{k: body[k] for k in keys if k in body}},
            status=201,
        )

    async def _on_join(self, request: web.Request) -> web.StreamResponse:
        call = next((c for c in self.calls if c.id == request.match_info["call_id"]), None)
        if call is None or call.joined:
            return web.Response(status=404)
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await call._serve(ws)
        return ws

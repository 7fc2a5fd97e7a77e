"""A loopback fake of the OpenAI Chat Completions API (streaming only).

It speaks enough of ``POST /v1/chat/completions`` for the real ``livekit.plugins.openai.LLM``
(livekit-plugins-openai 1.8.9, which always sends ``stream: true`` and
``stream_options: {"include_usage": true}``) and records every request body, so tests can
assert on exactly what the pipeline sent: messages, tools, options.

Usage::

    async with FakeChatCompletions() as server:
        server.queue_tool_call("switch_persona", {"persona": "pirate"})
        server.queue_text("Arr, the pirate is here.")
        model = openai.LLM(model="fake-model", base_url=server.base_url, api_key="x")
        ...
        assert server.requests[-1]["messages"][0]["role"] == "system"

Replies are scripted: every request consumes the next queued reply (a list of outputs, each
a :class:`ToolCall` or a :class:`Text`); when the script is empty, ``default_text`` is sent.
A queued :class:`HTTPError` answers that request with an error status instead.

The fake answers like the service in the ways a client can trip over:

- the reply is streamed as SSE ``data: {chat.completion.chunk}`` events: the role first, the
  text in a few deltas, each tool call's name then its arguments in pieces, a final chunk
  with ``finish_reason`` (``tool_calls`` or ``stop``), a usage chunk (``choices: []``) when
  ``stream_options.include_usage`` is set, then ``data: [DONE]``;
- ``validate=True`` (default) rejects, with a 400 and an OpenAI-style error body, what the
  service rejects: a missing ``model``/``messages``, a ``tool`` message that does not answer
  a preceding assistant ``tool_calls`` entry, and an assistant ``tool_calls`` entry not
  answered by the tool messages that follow it, and a body that does not match the SDK's
  request type (below). Rejected requests are recorded too (see :attr:`rejections`);
- ``validate_schema=True`` (default) checks every request body against the ``openai`` SDK's
  request TypedDict (``completion_create_params.CompletionCreateParamsStreaming``: required
  keys, unknown keys, each message's shape for its role, tools, options) and every streamed
  chunk it sends against ``ChatCompletionChunk`` (unknown fields included, see
  ``openai/schemas.py``); what fails is recorded in :attr:`schema_violations` (the ``fake_chat``
  fixture fails the test at teardown).

It is bounded: bodies over ``max_body_bytes`` get a 413, requests past ``max_requests`` a
429, and it listens on 127.0.0.1 only and refuses any non-loopback peer.
"""

from __future__ import annotations

import asyncio
import copy
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from ..loopback import LoopbackHttpServer
from ..openai.schemas import chat_completion_chunk_problems, chat_request_problems

__all__ = [
    "FakeChatCompletions",
    "HTTPError",
    "Text",
    "ToolCall",
    "message_text",
]

DEFAULT_MAX_REQUESTS = 200
DEFAULT_MAX_BODY_BYTES = 2 * 1024 * 1024


@dataclass
class ToolCall:
    """A scripted tool call; ``arguments`` as a dict (sent as JSON) or a raw string."""

    name: str
    arguments: dict[str, Any] | str = field(default_factory=dict)
    call_id: str | None = None


@dataclass
class Text:
    """A scripted assistant text, streamed in ``pieces`` deltas."""

    text: str
    pieces: int = 3


@dataclass
class HTTPError:
    """Answer one request with an error status and an OpenAI-style error body."""

    status: int = 500
    message: str = "The fake server had an error."
    type: str = "server_error"
    code: str | None = None


Output = ToolCall | Text
Reply = Sequence[Output] | HTTPError


def message_text(message: dict[str, Any]) -> str:
    """The text of a Chat Completions message (``content`` as a string or a list of parts;
    for an assistant message with ``tool_calls`` the names and arguments are included)."""
    content = message.get("content")
    if isinstance(content, str):
        text = content
    elif isinstance(content, list):
        text = "".join(p.get("text", "") for p in content if isinstance(p, dict))
    else:
        text = ""
    for call in message.get("tool_calls") or ():
        fn = call.get("function") or {}
        text += f" {fn.get('name', '')} {fn.get('arguments', '')}"
    return text


def _split(text: str, pieces: int) -> list[str]:
    if not text:
        return []
    n = max(1, min(pieces, len(text)))
    size = -(-len(text) // n)
    return [text[i : i + size] for i in range(0, len(text), size)]


def _problems(body: dict[str, Any]) -> list[str]:
    """What the real service would reject in this request body (a subset)."""
    problems: list[str] = []
    if not isinstance(body.get("model"), str) or not body["model"]:
        problems.append("you must provide a model parameter")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        problems.append("'messages' must be a non-empty array")
        return problems
    open_calls: set[str] = set()  # tool_call ids of the last assistant message, unanswered
    for i, msg in enumerate(messages):
        role = msg.get("role") if isinstance(msg, dict) else None
        if role not in ("system", "developer", "user", "assistant", "tool"):
            problems.append(f"messages[{i}].role: invalid role {role!r}")
            continue
        if role == "tool":
            call_id = msg.get("tool_call_id")
            if call_id not in open_calls:
                problems.append(
                    f"messages[{i}]: messages with role 'tool' must be a response to a "
                    f"preceding message with 'tool_calls' (tool_call_id {call_id!r})"
                )
            open_calls.discard(call_id)
            continue
        if open_calls:
            problems.append(
                "An assistant message with 'tool_calls' must be followed by tool messages "
                f"responding to each 'tool_call_id'. Unanswered: {sorted(open_calls)}"
            )
            open_calls = set()
        if role == "assistant":
            open_calls = {c.get("id") for c in msg.get("tool_calls") or ()}
    if open_calls:
        problems.append(
            "An assistant message with 'tool_calls' must be followed by tool messages "
            f"responding to each 'tool_call_id'. Unanswered: {sorted(open_calls)}"
        )
    return problems


class FakeChatCompletions(LoopbackHttpServer):
    """Loopback Chat Completions server. Use as ``async with`` (or the ``fake_chat`` fixture).
    ``queue_reply`` queues one reply made of these outputs (texts first, then tool calls, as
    sent).

    Args:
        default_text: the reply when the script is empty.
        validate: reject malformed conversations with a 400, as the service does.
        validate_schema: check requests and streamed chunks against the SDK's types.
        max_requests: answer 429 once this many requests have been served.
        max_body_bytes: answer 413 to larger bodies.
        response_delay: seconds to wait before streaming each reply.
    """

    api_key = "sk-fake-loopback"

    def __init__(
        self,
        *,
        default_text: str = "OK.",
        validate: bool = True,
        validate_schema: bool = True,
        max_requests: int = DEFAULT_MAX_REQUESTS,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        response_delay: float = 0.0,
    ) -> None:
        super().__init__(response_delay=response_delay)
        self.default_text = default_text
        self.validate = validate
        self.validate_schema = validate_schema
        self.max_requests = max_requests
        self.max_body_bytes = max_body_bytes
        self.requests: list[dict[str, Any]] = []
        """every accepted request body, parsed, in arrival order"""
        self.headers: list[dict[str, str]] = []
        """the headers of each accepted request (lower-case names), same order"""
        self.rejections: list[tuple[dict[str, Any] | None, int, str]] = []
        """(body or None, status, message) of every request answered with an error"""
        self.replies: list[list[Output]] = []
        """what was streamed back for each accepted request"""

    # ---- lifecycle -------------------------------------------------------------------------

    def _app(self) -> web.Application:
        app = web.Application(client_max_size=self.max_body_bytes)
        app.router.add_post("/v1/chat/completions", self._on_chat_completions)
        app.router.add_post("/chat/completions", self._on_chat_completions)
        return app

    # ---- how to point the plugin at it -----------------------------------------------------

    @property
    def base_url(self) -> str:
        """Pass as ``openai.LLM(base_url=...)`` (or ``LLM_BASE_URL``)."""
        assert self.port is not None, "server not started"
        return f"http://127.0.0.1:{self.port}/v1"

    def env(self, **extra: str) -> dict[str, str]:
        """What agent/providers.py reads to point the pipeline provider at this server."""
        return {"LLM_BASE_URL": self.base_url, "LLM_API_KEY": self.api_key, **extra}

    def llm(self, **kwargs: Any) -> Any:
        """A real ``livekit.plugins.openai.LLM`` pointed at this server."""
        from livekit.plugins import openai

        return openai.LLM(**{"model": "fake-model", "base_url": self.base_url,
                             "api_key": self.api_key, **kwargs})

    # ---- scripting -------------------------------------------------------------------------

    def queue_tool_call(
        self, name: str, arguments: dict[str, Any] | str | None = None, *, call_id: str | None = None
    ) -> None:
        self.queue_reply(ToolCall(name, {} if arguments is None else arguments, call_id))

    def queue_text(self, text: str, *, pieces: int = 3) -> None:
        self.queue_reply(Text(text, pieces))

    def queue_error(self, status: int = 500, message: str = "The fake server had an error.", **kw: Any) -> None:
        self._script.append(HTTPError(status, message, **kw))

    def _default_reply(self) -> list[Output]:
        return [Text(self.default_text)]

    # ---- recorded traffic ------------------------------------------------------------------

    def messages(self, index: int = -1) -> list[dict[str, Any]]:
        """The ``messages`` of one accepted request (default: the last)."""
        return self.requests[index]["messages"]

    async def wait_for_requests(self, n: int, timeout: float = 3.0) -> dict[str, Any]:
        """Wait until ``n`` requests were accepted; return the ``n``-th body."""
        await self._wait(lambda: len(self.requests) >= n, timeout, f"{n} requests")
        return self.requests[n - 1]

    def _progress(self) -> str:
        return f"got {len(self.requests)}"

    # ---- internals -------------------------------------------------------------------------

    def _reject(self, body: dict[str, Any] | None, status: int, message: str, *,
                type: str = "invalid_request_error", code: str | None = None,
                param: str | None = None) -> web.Response:
        self.rejections.append((body, status, message))
        self._notify()
        return web.json_response(
            {"error": {"message": message, "type": type, "param": param, "code": code}},
            status=status,
        )

    async def _on_chat_completions(self, request: web.Request) -> web.StreamResponse:
        peer = request.transport.get_extra_info("peername") if request.transport else None
        if not peer or peer[0] not in ("127.0.0.1", "::1"):
            return self._reject(None, 403, "loopback clients only", type="forbidden")
        if len(self.requests) >= self.max_requests:
            return self._reject(None, 429, f"the fake serves at most {self.max_requests} requests",
                                type="rate_limit_error", code="rate_limit_exceeded")
        try:
            raw = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return self._reject(None, 413, "request body too large")
        try:
            body = json.loads(raw)
        except ValueError:
            return self._reject(None, 400, "We could not parse the JSON body of your request.")
        if not isinstance(body, dict):
            return self._reject(None, 400, "the request body must be a JSON object")
        if self.validate_schema:
            # the SDK's request type: a body the SDK cannot express is one the service refuses
            schema_problems = chat_request_problems(body)
            self._record_violations(f"request #{len(self.requests) + len(self.rejections)}",
                                    schema_problems)
            if schema_problems and self.validate:
                unknown = [p.split(":")[0][2:] for p in schema_problems
                           if p.startswith("$.") and "unknown field" in p and "." not in p.split(":")[0][2:]]
                if unknown:
                    # the service's words for an unknown top-level key, with param and code
                    # null (davidmigloz/langchain_dart#712, a 400 from api.openai.com)
                    return self._reject(body, 400, f"Unrecognized request argument supplied: {unknown[0]}")
                return self._reject(body, 400, "; ".join(schema_problems), code="invalid_request")
        if self.validate:
            problems = _problems(body)
            if problems:
                return self._reject(body, 400, "; ".join(problems), code="invalid_request")
        if body.get("stream") is not True:
            return self._reject(body, 400, "this fake only streams: send stream=true")

        self.requests.append(body)
        self.headers.append({k.lower(): v for k, v in request.headers.items()})
        reply = self._next_reply()
        if isinstance(reply, HTTPError):
            self.requests.pop()
            self.headers.pop()
            return self._reject(body, reply.status, reply.message, type=reply.type, code=reply.code)
        self.replies.append(copy.deepcopy(list(reply)))
        self._notify()
        if self.response_delay:
            await asyncio.sleep(self.response_delay)
        return await self._stream(request, body, list(reply))

    async def _stream(self, request: web.Request, body: dict[str, Any], reply: list[Output]) -> web.StreamResponse:
        resp = web.StreamResponse(headers={
            "Content-Type": "text/event-stream; charset=utf-8",
            "Cache-Control": "no-cache",
            "x-request-id": self._new_id("req"),
        })
        await resp.prepare(request)
        completion_id = self._new_id("chatcmpl")
        created = int(time.time())
        model = body.get("model", "")

        sent = 0

        async def send(choices: list[dict[str, Any]], **extra: Any) -> None:
            nonlocal sent
            chunk = {"id": completion_id, "object": "chat.completion.chunk", "created": created,
                     "model": model, "system_fingerprint": "fp_fake", "choices": choices, **extra}
            if self.validate_schema:
                self._record_violations(f"{completion_id} chunk #{sent}",
                                        chat_completion_chunk_problems(chunk))
            sent += 1
            await resp.write(f"data: {json.dumps(chunk)}\n\n".encode())

        def choice(delta: dict[str, Any], finish: str | None = None) -> list[dict[str, Any]]:
            return [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]

        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        texts = [o for o in reply if isinstance(o, Text)]
        calls = [o for o in reply if isinstance(o, ToolCall)]
        await send(choice({"role": "assistant", "content": "", "refusal": None}),
                   **({"usage": None} if include_usage else {}))
        completion_chars = 0
        for t in texts:
            for piece in _split(t.text, t.pieces):
                completion_chars += len(piece)
                await send(choice({"content": piece}), **({"usage": None} if include_usage else {}))
        for index, call in enumerate(calls):
            args = call.arguments if isinstance(call.arguments, str) else json.dumps(call.arguments)
            completion_chars += len(args)
            call_id = call.call_id or self._new_id("call")
            await send(choice({"tool_calls": [{"index": index, "id": call_id, "type": "function",
                                               "function": {"name": call.name, "arguments": ""}}]}))
            for piece in _split(args, 2):
                await send(choice({"tool_calls": [{"index": index, "function": {"arguments": piece}}]}))
        await send(choice({}, "tool_calls" if calls else "stop"))
        if include_usage:
            prompt = max(1, len(json.dumps(body.get("messages", []))) // 4)
            completion = max(1, completion_chars // 4)
            await send([], usage={
                "prompt_tokens": prompt, "completion_tokens": completion,
                "total_tokens": prompt + completion,
                "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
                "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                                              "accepted_prediction_tokens": 0,
                                              "rejected_prediction_tokens": 0},
            })
        await resp.write(b"data: [DONE]\n\n")
        await resp.write_eof()
        return resp


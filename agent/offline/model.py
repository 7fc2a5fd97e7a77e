"""The offline model: a livekit ``llm.LLM`` that needs no key and no network.

It calls the session tools when the understanding recognises a request, reads the
tools' outputs back to the user, and otherwise answers with the persona's
offline line. Everything around it is the real LiveKit code path.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import AsyncIterator, Callable

from livekit.agents import llm
from livekit.agents.types import DEFAULT_API_CONNECT_OPTIONS, NOT_GIVEN, APIConnectOptions, NotGivenOr

from tools.session_tools import DO_NOT_REPLY, SAY_PREFIX

from ..session.forgetting import last_exchanged
from ..session.lk_private import ChunkStream
from ..session.model_source import RequestReader

_SAY = re.compile(re.escape(SAY_PREFIX) + r'\s*"(.*)"\s*$', re.S)


class OfflineLLM(llm.LLM):
    def __init__(self, *, router: Callable[[], RequestReader], offline_line: Callable[[], str]) -> None:
        """``router`` and ``offline_line`` are called each turn, so edits to the
        trigger phrases, aliases and templates apply at once."""
        super().__init__()
        self._router = router
        self._offline_line = offline_line

    @property
    def model(self) -> str:
        return "offline-router"

    @property
    def provider(self) -> str:
        return "offline"

    def chat(
        self,
        *,
        chat_ctx: llm.ChatContext,
        tools: list[llm.Tool] | None = None,
        conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS,
        parallel_tool_calls: NotGivenOr[bool] = NOT_GIVEN,
        tool_choice: NotGivenOr[llm.ToolChoice] = NOT_GIVEN,
        extra_kwargs: NotGivenOr[dict] = NOT_GIVEN,
    ) -> llm.LLMStream:
        tool_names = {t.info.name for t in tools or () if isinstance(t, (llm.FunctionTool, llm.RawFunctionTool))}
        allow_tools = tool_choice != "none"
        return ChunkStream(
            self,
            chat_ctx=chat_ctx,
            tools=tools or [],
            conn_options=conn_options,
            chunks=lambda: self._respond(chat_ctx, tool_names if allow_tools else set()),
        )

    def respond_text(self, chat_ctx: llm.ChatContext, tool_names: set[str]) -> str | llm.FunctionToolCall:
        """The whole decision, without streaming: a tool call or a line of text ("" for silence)."""
        last = last_exchanged(chat_ctx.items)
        if last is None:
            return self._offline_line()
        if last.type == "function_call_output":
            if last.is_error:
                return f"Sorry, that didn't work. {last.output}"
            if match := _SAY.search(last.output):
                return match.group(1)
            return "" if DO_NOT_REPLY in last.output else self._offline_line()
        if last.role != "user":
            return self._offline_line()
        intent = self._router().route(last.text_content or "")
        if intent is not None and intent.tool in tool_names:
            return llm.FunctionToolCall(
                name=intent.tool, arguments=json.dumps(intent.arguments), call_id=f"offline_{uuid.uuid4().hex[:12]}"
            )
        return self._offline_line()

    async def _respond(self, chat_ctx: llm.ChatContext, tool_names: set[str]) -> AsyncIterator[llm.ChatChunk]:
        answer = self.respond_text(chat_ctx, tool_names)
        chunk_id = uuid.uuid4().hex
        if isinstance(answer, llm.FunctionToolCall):
            yield llm.ChatChunk(id=chunk_id, delta=llm.ChoiceDelta(role="assistant", tool_calls=[answer]))
        elif answer:
            yield llm.ChatChunk(id=chunk_id, delta=llm.ChoiceDelta(role="assistant", content=answer))

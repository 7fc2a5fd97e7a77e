"""A scripted LLM for conversation tests: each chat() answers with the next
scripted step (a tool call or a line of text); the rest is real LiveKit code."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

from livekit.agents import llm
from livekit.agents.types import DEFAULT_API_CONNECT_OPTIONS, APIConnectOptions

from agent.session.lk_private import ChunkStream


def call(name: str, **arguments: Any) -> llm.FunctionToolCall:
    return llm.FunctionToolCall(name=name, arguments=json.dumps(arguments), call_id=f"call_{uuid.uuid4().hex[:8]}")


class ScriptedLLM(llm.LLM):
    def __init__(self, *steps: str | llm.FunctionToolCall) -> None:
        super().__init__()
        self.steps = list(steps)
        self.seen: list[llm.ChatContext] = []  # the context of every request

    def chat(self, *, chat_ctx: llm.ChatContext, tools=None, conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS, **_: Any) -> llm.LLMStream:
        self.seen.append(chat_ctx.copy())
        step = self.steps.pop(0) if self.steps else ""

        async def chunks() -> AsyncIterator[llm.ChatChunk]:
            if isinstance(step, llm.FunctionToolCall):
                yield llm.ChatChunk(id="s", delta=llm.ChoiceDelta(role="assistant", tool_calls=[step]))
            elif step:
                yield llm.ChatChunk(id="s", delta=llm.ChoiceDelta(role="assistant", content=step))

        return ChunkStream(self, chat_ctx=chat_ctx, tools=tools or [], conn_options=conn_options, chunks=chunks)

"""The offline model reads tool outputs back and routes requests only to tools it was given."""

from __future__ import annotations

from livekit.agents import llm

from agent.offline.model import OfflineLLM
from agent.offline.understanding import Understanding
from tools.session_tools import Outcome, tell_model

UNDERSTANDING = Understanding({"mark_user_away": {"alone": ["brb"]}}, {})


def _model() -> OfflineLLM:
    return OfflineLLM(router=lambda: UNDERSTANDING, offline_line=lambda: "I'm offline.")


def _after_tool(output: str, is_error: bool = False) -> llm.ChatContext:
    ctx = llm.ChatContext.empty()
    ctx.add_message(role="user", content="brb")
    ctx.insert(llm.FunctionCall(call_id="c", name="mark_user_away", arguments="{}"))
    ctx.insert(llm.FunctionCallOutput(call_id="c", name="mark_user_away", output=output, is_error=is_error))
    return ctx


def test_says_the_line_the_tool_reported() -> None:
    output = tell_model(Outcome("away", say='Take your time, "Sam".'))
    assert _model().respond_text(_after_tool(output), set()) == 'Take your time, "Sam".'


def test_stays_silent_when_told_not_to_reply() -> None:
    assert _model().respond_text(_after_tool(tell_model(Outcome("already_away", " 5 minutes"))), set()) == ""


def test_reports_a_tool_error() -> None:
    assert "Unknown persona" in _model().respond_text(_after_tool("Unknown persona 'x'.", is_error=True), set())


def test_calls_a_tool_only_when_it_is_offered() -> None:
    ctx = llm.ChatContext.empty()
    ctx.add_message(role="user", content="brb")
    call = _model().respond_text(ctx, {"mark_user_away"})
    assert isinstance(call, llm.FunctionToolCall) and call.name == "mark_user_away"
    assert _model().respond_text(ctx, set()) == "I'm offline."


"""Fails loudly when a livekit upgrade changes a private name agent/session/lk_private.py relies on."""

from __future__ import annotations

import inspect

import pytest
from livekit.agents import AgentSession, llm
from livekit.agents.voice.run_result import RunResult

from agent.session import lk_private


def test_update_user_state_still_takes_a_state() -> None:
    params = inspect.signature(AgentSession._update_user_state).parameters
    assert list(params)[:2] == ["self", "state"]


async def test_away_and_back_emit_user_state_changed() -> None:
    session = AgentSession(vad=None)
    seen = []
    session.on("user_state_changed", lambda ev: seen.append((ev.old_state, ev.new_state)))
    lk_private.mark_user_away(session)
    assert session.user_state == "away"
    lk_private.mark_user_present(session)
    assert session.user_state == "listening"
    assert seen == [("listening", "away"), ("away", "listening")]


async def test_session_keeps_recorded_events_and_run_state() -> None:
    session = AgentSession(vad=None)
    assert isinstance(session._recorded_events, list)
    assert session._global_run_state is None
    assert callable(RunResult._watch_handle)


async def test_scrub_recorded_events_drops_forgotten_items() -> None:
    from livekit.agents.voice.events import ConversationItemAddedEvent, UserInputTranscribedEvent

    session = AgentSession(vad=None)
    secret = llm.ChatMessage(role="user", content=["my pin is 1234"])
    kept = llm.ChatMessage(role="user", content=["hello"])
    session.emit("conversation_item_added", ConversationItemAddedEvent(item=secret))
    session.emit("conversation_item_added", ConversationItemAddedEvent(item=kept))
    session.emit("user_input_transcribed", UserInputTranscribedEvent(transcript="my pin is 1234", is_final=True))
    assert lk_private.scrub_recorded_events(session, {secret.id}, ["my pin is 1234"]) == 2
    assert [getattr(e, "item", None) for e in session._recorded_events] == [kept]


def test_llm_stream_still_has_run_and_event_channel() -> None:
    assert "_run" in llm.LLMStream.__abstractmethods__
    src = inspect.getsource(llm.LLMStream.__init__)
    assert "self._event_ch" in src


async def test_is_closing_turns_true_as_soon_as_a_shutdown_is_asked() -> None:
    session = AgentSession(vad=None)
    assert lk_private.is_closing(session) is False
    session.shutdown()  # before the "close" event: the teardown runs in a task
    assert lk_private.is_closing(session) is True
    await session.aclose()


async def test_a_routed_user_state_is_the_one_set_and_emitted() -> None:
    session = AgentSession(vad=None)
    seen: list[tuple[str, str]] = []
    session.on("user_state_changed", lambda ev: seen.append((ev.old_state, ev.new_state)))
    lk_private.mark_user_away(session)
    lk_private.route_user_state(session, lambda state: "away" if state == "listening" else state)
    lk_private.mark_user_present(session)  # routed to "away": no change, no event
    session._update_user_state("speaking")  # as livekit's VAD would
    session._update_user_state("listening")
    assert session.user_state == "away"
    assert seen == [("listening", "away"), ("away", "speaking"), ("speaking", "away")]
    await session.aclose()


async def test_a_context_set_before_start_is_what_the_agent_starts_with() -> None:
    """At a hand-off livekit starts the fresh agent from ``agent.chat_ctx``; the context set
    just before (at the ``agent_handoff`` item) is the one it reads, and a started agent
    refuses it (its context then goes through ``update_chat_ctx``)."""
    from livekit.agents import Agent

    agent = Agent(instructions="x")
    ctx = llm.ChatContext.empty()
    ctx.add_message(role="user", content="said during the hand-off")
    lk_private.set_chat_ctx_before_start(agent, ctx)
    assert [m.text_content for m in agent.chat_ctx.messages()] == ["said during the hand-off"]
    session = AgentSession(vad=None)
    await session.start(agent)
    try:
        with pytest.raises(RuntimeError):
            lk_private.set_chat_ctx_before_start(agent, llm.ChatContext.empty())
    finally:
        await session.aclose()


@pytest.mark.parametrize("name", ["_update_user_state", "_recorded_events", "_global_run_state", "_is_closing", "_chat_ctx", "_activity"])
def test_private_names_are_used_only_in_lk_private(name: str) -> None:
    from pathlib import Path

    root = Path(__file__).parents[2]
    users = [p for d in ("agent", "tools", "prompts") for p in (root / d).rglob("*.py") if f".{name}" in p.read_text()]
    assert users == [root / "agent" / "session" / "lk_private.py"]


async def test_scrub_drops_a_forgotten_turns_transcripts_however_they_arrived() -> None:
    from livekit.agents.voice.events import ConversationItemAddedEvent, UserInputTranscribedEvent

    session = AgentSession(vad=None)

    def heard(text: str, final: bool = True, item_id: str | None = None) -> None:
        session.emit("user_input_transcribed", UserInputTranscribedEvent(transcript=text, is_final=final, item_id=item_id))

    def said(text: str, role: str = "user") -> llm.ChatMessage:
        msg = llm.ChatMessage(role=role, content=[text])
        session.emit("conversation_item_added", ConversationItemAddedEvent(item=msg))
        return msg

    heard("hello", final=False)
    heard("hello there")
    said("hello there")
    said("Hi!", role="assistant")
    # a speech-to-text pipeline: interim pieces (one misheard), then two final segments
    heard("my pin", final=False)
    heard("my pin is four", final=False)
    heard("my pin is 4321.")
    heard("Don't tell anyone.")
    secret = said("my pin is 4321. Don't tell anyone.")
    # a realtime provider: the transcript names its item
    heard("also my card", final=False, item_id="item_card")
    card = llm.ChatMessage(role="user", content=["also my card is 5555"], id="item_card")
    heard("also my card is 5555", item_id="item_card")
    session.emit("conversation_item_added", ConversationItemAddedEvent(item=card))

    lk_private.scrub_recorded_events(session, {secret.id, card.id}, [])
    left = repr([e.model_dump() for e in session._recorded_events])
    assert "pin" not in left and "card" not in left and "four" not in left
    assert left.count("hello there") == 2 and "Hi!" in left  # the kept turn, whole


async def test_scrub_drops_the_tool_events_of_a_forgotten_call() -> None:
    from livekit.agents.voice.events import ToolCallEnded, ToolCallStarted, ToolExecutionUpdatedEvent

    session = AgentSession(vad=None)
    for call_id in ("c_forgotten", "c_kept"):
        fc = llm.FunctionCall(call_id=call_id, name="mark_user_away", arguments='{"reason": "pin 4321"}')
        session.emit("tool_execution_updated", ToolExecutionUpdatedEvent(update=ToolCallStarted(function_call=fc)))
        ended = ToolCallEnded(id=call_id, call_id=call_id, message="ok", status="done")
        session.emit("tool_execution_updated", ToolExecutionUpdatedEvent(update=ended))
    assert lk_private.scrub_recorded_events(session, {"c_forgotten"}, []) == 2
    assert {e.update.call_id if hasattr(e.update, "call_id") else e.update.function_call.call_id for e in session._recorded_events} == {"c_kept"}

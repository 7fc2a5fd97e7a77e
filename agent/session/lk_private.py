"""Every use of a LiveKit private name (a leading underscore) lives here.

livekit-agents 1.8.9 has no public API for these needs. tests/unit/test_lk_private.py
checks each name against the installed version, so an upgrade that changes one
fails loudly there instead of silently misbehaving in a session.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Collection
from typing import Any

from livekit.agents import Agent, AgentSession, llm
from livekit.agents.types import APIConnectOptions


def mark_user_away(session: AgentSession) -> None:
    """Set the user state to "away" and emit ``user_state_changed``, exactly as
    the ``user_away_timeout`` timer does (there is no public setter)."""
    session._update_user_state("away")


def mark_user_present(session: AgentSession) -> None:
    """Back from "away" to "listening". The public ``reset_away_timer`` does this
    only while away detection is on (``user_away_timeout`` set)."""
    session._update_user_state("listening")


def route_user_state(session: AgentSession, route: Callable[[str], str]) -> None:
    """Pass every user state livekit sets (its VAD, a realtime model's end of turn, the
    away timer, and ``mark_user_away``/``mark_user_present``) through ``route`` before it
    is set and ``user_state_changed`` is emitted, so listeners never see a state that
    ``route`` would take back at once."""
    update = session._update_user_state

    def routed(state: Any, **kwargs: Any) -> None:
        update(route(state), **kwargs)

    session._update_user_state = routed  # type: ignore[method-assign]


def hold_run_open(session: AgentSession, task: asyncio.Future[Any]) -> None:
    """Keep a running ``session.run`` from completing before ``task`` is done, so a
    change applied after a reply is part of that run (as a speech of it would be)."""
    run_state = session._global_run_state
    if run_state is not None and not run_state.done():
        run_state._watch_handle(task)


def is_closing(session: AgentSession) -> bool:
    """Whether the session began to close (``shutdown()``, an unrecoverable error):
    the "close" event comes only once the teardown is over."""
    return session._is_closing()


def set_chat_ctx_before_start(agent: Agent, chat_ctx: llm.ChatContext) -> None:
    """Give an agent livekit has not started yet a new context, synchronously: at a
    hand-off livekit emits the ``agent_handoff`` item after the old agent drained and
    just before it starts the fresh one, which reads its context then. (The public
    ``Agent.update_chat_ctx`` is a coroutine; before start it only sets this.)"""
    if agent._activity is not None:
        raise RuntimeError("the agent has already started")
    agent._chat_ctx = chat_ctx.copy(tools=agent._tools)


_TRANSCRIPTS = ("user_input_transcribed", "user_turn_exceeded")


def scrub_recorded_events(session: AgentSession, item_ids: Collection[str], texts: Collection[str]) -> int:
    """Drop recorded session events that carry forgotten items or words.

    The end-of-session report is built from ``session.history`` and these events;
    forgetting only the history would leave the words in the report. ``item_ids`` holds
    the forgotten items' ids and their tool call ids. A user turn's
    transcripts (interim pieces and final segments) are recorded before the message
    they make up: they go with that message, matched by item id where the provider
    gives one, else by their place before it. Returns how many events were dropped.
    """
    ids, words = set(item_ids), {t for t in texts if t}

    def carries_forgotten(event: Any) -> bool:
        item = getattr(event, "item", None)
        if item is not None and getattr(item, "id", None) in ids:
            return True
        if event.type in _TRANSCRIPTS and (getattr(event, "item_id", None) in ids or event.transcript in words):
            return True
        if event.type == "tool_execution_updated":
            update = event.update
            call_ids = {getattr(update, "call_id", None), getattr(getattr(update, "function_call", None), "call_id", None)}
            call_ids.update(u.rsplit("_", 2)[0] for u in getattr(update, "update_ids", ()))
            if call_ids & ids:
                return True
        for call in [*getattr(event, "function_calls", ()), *getattr(event, "function_call_outputs", ())]:
            if call.id in ids or call.call_id in ids:
                return True
        return False

    events = session._recorded_events
    dropped: set[int] = set()
    transcripts: list[int] = []  # the transcripts of the user turn being recorded
    for i, event in enumerate(events):
        if carries_forgotten(event):
            dropped.add(i)
        if event.type in _TRANSCRIPTS:
            transcripts.append(i)
        elif event.type == "conversation_item_added" and getattr(event.item, "role", None) == "user":
            if event.item.id in ids:
                dropped.update(transcripts)
            transcripts = []
    events[:] = [e for i, e in enumerate(events) if i not in dropped]
    return len(dropped)


class ChunkStream(llm.LLMStream):
    """An LLMStream fed by an async iterator of ChatChunks (for in-process models:
    the one built into the agent and the scripted models in tests)."""

    def __init__(
        self,
        model: llm.LLM,
        *,
        chat_ctx: llm.ChatContext,
        tools: list[llm.Tool],
        conn_options: APIConnectOptions,
        chunks: Callable[[], AsyncIterator[llm.ChatChunk]],
    ) -> None:
        self._chunks = chunks
        super().__init__(model, chat_ctx=chat_ctx, tools=tools, conn_options=conn_options)

    async def _run(self) -> None:
        async for chunk in self._chunks():
            self._event_ch.send_nowait(chunk)

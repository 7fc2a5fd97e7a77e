"""The provider's own answer to an update, so a change is reported only once it took.

OpenAI Realtime takes ``session.update`` and ``conversation.item.delete`` without
waiting: it answers later with ``session.updated`` / ``conversation.item.deleted``,
or with an ``error``. livekit's ``update_instructions`` returns before that answer, so
a refused update looks applied. The plugin re-emits every server event as
``openai_server_event_received`` and every client event it sends as
``openai_client_event_queued``; :class:`ServerAnswers` listens to both.

An error answers the request whose id it echoes in ``error.event_id`` (the service
echoes the id of the client event it refuses: livekit/agents#3398, #2064; the 1.8.9
plugin tags every request it sends). An error naming another request (the plugin's
own ``response.cancel`` races, ``input_audio_buffer_commit_empty``) answers nothing of
ours and is passed over; one with a null id (a client that sent none) is taken as the
answer. The service answers a client's events in order, so the first answer after a
request is taken as its answer.

The OpenAI provider hands it to the mechanism as its ``Confirmations``
(agent/session/confirmations.py); a refused voice (``cannot_update_voice``) is a
refusal a fresh session gets past.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection
from typing import Any

from ..session.confirmations import Refused

ANSWER_TIMEOUT = 5.0  # the plugin's own wait for a chat context update
# refusals of a change the service makes only when a session starts (a voice, once audio was produced)
FRESH_SESSION_CODES = ("cannot_update_voice",)


class ServerAnswers:
    """Collects a realtime session's server events from now on (``with`` block)."""

    available = True

    def __init__(self, rt_session: Any) -> None:
        self._session = rt_session
        self._events: list[dict[str, Any]] = []
        self._changed = asyncio.Event()
        self._sent: set[str] = set()  # ids of the updates and deletes sent in the block

    def __enter__(self) -> ServerAnswers:
        self._session.on("openai_client_event_queued", self._on_sent)
        self._session.on("openai_server_event_received", self._on_event)
        return self

    def __exit__(self, *exc: object) -> None:
        self._session.off("openai_client_event_queued", self._on_sent)
        self._session.off("openai_server_event_received", self._on_event)

    def _on_sent(self, event: dict[str, Any]) -> None:
        # only the requests answered here: an error about anything else sent meanwhile
        # (a response.cancel, an item created) is no refusal of these
        if event.get("type") in ("session.update", "conversation.item.delete") and (event_id := event.get("event_id")):
            self._sent.add(event_id)

    def _on_event(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        if kind == "error":
            answers = (event.get("error") or {}).get("event_id")
            if answers is not None and answers not in self._sent:
                return  # another request's error
        if kind in ("session.updated", "conversation.item.deleted", "error"):
            self._events.append(event)
            self._changed.set()

    async def _next(self, timeout: float) -> dict[str, Any] | None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not self._events:
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), max(0.0, deadline - loop.time()))
            except asyncio.TimeoutError:
                return None
        return self._events.pop(0)

    async def session_updated(self, timeout: float = ANSWER_TIMEOUT) -> None:
        """Wait for the answer to one ``session.update``; raise :class:`Refused` on an error."""
        while True:
            event = await self._next(timeout)
            if event is None:
                raise Refused("no_answer", f"the session update was not confirmed within {timeout:g} s")
            if event["type"] == "session.updated":
                return
            if event["type"] == "error":
                error = event.get("error") or {}
                code = error.get("code") or "error"
                raise Refused(code, error.get("message") or "", fresh_session=code in FRESH_SESSION_CODES)

    async def items_deleted(self, item_ids: Collection[str], timeout: float = ANSWER_TIMEOUT) -> list[str]:
        """Wait until each item is deleted; return the refusals (empty: all deleted)."""
        waiting, refusals = set(item_ids), []
        # an error names the delete request, not its item: each one answers for one of those waiting
        while len(waiting) > len(refusals):
            event = await self._next(timeout)
            if event is None:
                refusals.append(f"no answer within {timeout:g} s for {len(waiting)} item(s)")
                break
            if event["type"] == "conversation.item.deleted":
                waiting.discard(event.get("item_id"))
            elif event["type"] == "error":
                error = event.get("error") or {}
                refusals.append(f"{error.get('code')}: {error.get('message')}")
        return refusals


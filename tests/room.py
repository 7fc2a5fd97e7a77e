"""The worker's real entrypoint, run without a LiveKit server.

A stand-in for the job's room takes the place livekit's ``rtc.Room`` has in
``JobContext.room``: RoomIO attaches to it as to a room not yet connected (so no audio,
transcript or session event leaves), and its local participant records the attributes
it is given and keeps the RPC handlers registered on it, which a test invokes as
livekit does: with an ``rtc.RpcInvocationData``, getting back the handler's string or
its ``rtc.RpcError`` (``LocalParticipant._handle_rpc_method_invocation``).

The session the entrypoint builds is the real ``AgentSession``; the test reaches it
through a subclass that only keeps a reference, and drives turns with ``session.run``.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from livekit import rtc

from agent import compose, providers, worker
from tests.compat import timeout

# what the providers (agent/providers/, each its own) and the worker read: none leaks in from the developer's shell
SETTINGS = ("AGENT_PROVIDER", "AGENT_PERSONA", "AGENT_MODALITIES", "PROMPTS_DIR", *providers.SETTINGS)
TIME_LIMIT = 20.0  # one worker test, start to end: a hang fails instead of blocking the suite


class StandInParticipant:
    """The agent's ``rtc.LocalParticipant``: what a frontend would see of it."""

    identity = "agent-AJ_test"
    sid = "PA_test"
    kind = rtc.ParticipantKind.PARTICIPANT_KIND_AGENT

    def __init__(self) -> None:
        self.attributes: dict[str, str] = {}
        self.updates: list[dict[str, str]] = []  # each set_attributes call, in order
        self.rpc_methods: dict[str, Any] = {}
        self.track_publications: dict[str, Any] = {}
        self._changed = asyncio.Condition()

    async def set_attributes(self, attributes: dict[str, str]) -> None:
        # livekit-rtc: only str values; the server merges them into the participant's
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in attributes.items()), attributes
        async with self._changed:
            self.updates.append(dict(attributes))
            self.attributes.update(attributes)
            self._changed.notify_all()

    def register_rpc_method(self, method_name: str, handler: Any = None) -> Any:
        assert handler is not None and method_name not in self.rpc_methods
        self.rpc_methods[method_name] = handler
        return handler

    async def call(self, method: str, payload: str | dict[str, Any] = "", *, caller: str = "user") -> dict[str, Any]:
        """Invoke a registered method as a remote participant's ``performRpc`` would."""
        if isinstance(payload, dict):
            payload = json.dumps(payload)
        data = rtc.RpcInvocationData(f"req-{len(self.updates)}", caller, payload, 15.0)
        return json.loads(await self.rpc_methods[method](data))

    async def attribute(self, key: str, value: str, wait: float = 5.0) -> None:
        """Wait until ``key`` was published as ``value`` (attributes go out in a task)."""
        async with timeout(wait):
            async with self._changed:
                await self._changed.wait_for(lambda: self.attributes.get(key) == value)


class StandInRoom(rtc.EventEmitter[str]):
    name = "frontend-test"

    def __init__(self) -> None:
        super().__init__()
        self.local_participant = StandInParticipant()
        self.remote_participants: dict[str, Any] = {}
        self.stream_handlers: dict[str, Any] = {}

    def isconnected(self) -> bool:
        return False

    def register_text_stream_handler(self, topic: str, handler: Any) -> None:
        self.stream_handlers[topic] = handler

    def unregister_text_stream_handler(self, topic: str) -> None:
        self.stream_handlers.pop(topic, None)

    register_byte_stream_handler = register_text_stream_handler
    unregister_byte_stream_handler = unregister_text_stream_handler


@dataclass
class StandInJob:
    metadata: str = ""
    id: str = "AJ_test"


@dataclass
class StandInJobContext:
    job: StandInJob
    room: StandInRoom = field(default_factory=StandInRoom)
    shutdown_callbacks: list[Any] = field(default_factory=list)

    def add_shutdown_callback(self, callback: Any) -> None:
        self.shutdown_callbacks.append(callback)


@dataclass
class Worker:
    ctx: StandInJobContext
    session: Any

    @property
    def participant(self) -> StandInParticipant:
        return self.ctx.room.local_participant

    @property
    def ctl(self) -> Any:
        return self.session.current_agent.controller

    async def say(self, text: str) -> Any:
        result = await self.session.run(user_input=text)
        await self.ctl.settle()
        return result

    def agent_instructions(self) -> str:
        return self.session.current_agent.instructions

    def history_texts(self) -> list[str]:
        return [m.text_content for m in self.session.history.messages() if m.role in ("user", "assistant")]

    def context_texts(self) -> list[str]:
        return [m.text_content for m in self.session.current_agent.chat_ctx.messages() if m.role in ("user", "assistant")]


@asynccontextmanager
async def run_worker(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, env: dict[str, str], *, metadata: str = "") -> AsyncIterator[Worker]:
    """``entrypoint`` on a stand-in job whose environment is exactly ``env`` (plus the
    process's own): no ``.env.local`` is read."""
    monkeypatch.chdir(tmp_path)
    for key in SETTINGS:
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    sessions: list[Any] = []

    class KeptSession(compose.AgentSession):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            sessions.append(self)

    monkeypatch.setattr(compose, "AgentSession", KeptSession)  # the sessions the worker builds
    ctx = StandInJobContext(StandInJob(metadata))
    # the room never connects, so livekit's session host (lk.agent.session) logs each event it cannot send
    unsent = _DropRecords("failed to send session event")
    logging.getLogger("livekit.agents").addFilter(unsent)
    try:
        async with timeout(TIME_LIMIT):
            await worker.entrypoint(ctx)  # type: ignore[arg-type]
            (session,) = sessions
            await session.wait_for_idle()  # the greeting is over
            w = Worker(ctx, session)
            yield w
            await w.ctl.settle()
    finally:
        for session in sessions:
            await session.aclose()
        for callback in ctx.shutdown_callbacks:
            await callback()
        logging.getLogger("livekit.agents").removeFilter(unsent)


class _DropRecords(logging.Filter):
    def __init__(self, message: str) -> None:
        super().__init__()
        self.message = message

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != self.message

"""Fixtures for the wire tests: loopback fakes of the OpenAI Realtime and Gemini Live APIs.

Each fixture starts a server on 127.0.0.1 (random port) for one test and stops it when the
test ends. Nothing leaves the machine and no API key is needed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

import prompts
from tests.harness import start_chat

from .pipeline.fake_chat_completions import FakeChatCompletions
from .google.fake_gemini import FakeGeminiLive
from .openai.fake_openai import FakeOpenAIRealtime
from .ultravox.fake_ultravox import FakeUltravox


def fail_on_schema_violations(server: Any) -> None:
    """Fail the test when ``server`` recorded messages that do not match the provider's own
    schema (the OpenAI fakes check every message against the ``openai`` SDK's types)."""
    failures = getattr(server, "failures", None)
    if failures:
        pytest.fail(f"{type(server).__name__} failed:\n" + "\n".join(failures), pytrace=False)
    if server.schema_violations:
        pytest.fail(
            f"{type(server).__name__} recorded {len(server.schema_violations)} schema "
            f"violation(s):\n{server.schema_report()}",
            pytrace=False,
        )


@pytest.fixture
async def fake_openai() -> AsyncIterator[FakeOpenAIRealtime]:
    """A started :class:`FakeOpenAIRealtime`; pass ``**fake_openai.model_kwargs()`` (or use
    ``fake_openai.realtime_model(...)``) to point the OpenAI plugin at it. Every event both
    ways is checked against the ``openai`` SDK's types: the test fails at teardown if any did
    not match (see ``schema_violations``)."""
    async with FakeOpenAIRealtime() as server:
        yield server
    fail_on_schema_violations(server)


@pytest.fixture
async def fake_gemini() -> AsyncIterator[FakeGeminiLive]:
    """A started :class:`FakeGeminiLive` (TLS, self-signed); pass
    ``**fake_gemini.model_kwargs()`` (or use ``fake_gemini.realtime_model(...)``) to point
    the Google plugin at it.

    Every message either way is checked against google-genai's ``LiveClientMessage`` /
    ``LiveServerMessage`` (unknown fields forbidden): the test fails at teardown if any broke
    the schema, so every Gemini wire test is also a schema test.
    """
    async with FakeGeminiLive() as server:
        yield server
    assert_gemini_schema_clean(server)


def assert_gemini_schema_clean(server: FakeGeminiLive) -> None:
    if server.schema_violations:
        shown = "\n  ".join(server.schema_violations[:20])
        more = len(server.schema_violations) - 20
        pytest.fail(
            f"Gemini Live messages broke google-genai's schema:\n  {shown}"
            + (f"\n  ... and {more} more" if more > 0 else ""),
            pytrace=False,
        )


# ------------------------------------------------------------------------------------------
# Helpers for the session-control wire tests: the REAL SessionController, SessionAgent and
# AgentSession, on a provider built from environment values that point at a fake.
# ------------------------------------------------------------------------------------------

SESSION_TIMEOUT = 10.0
HALF_CASCADE_MODEL = "gemini-live-2.5-flash-preview"


def openai_env(server: FakeOpenAIRealtime, *, modalities: str | None = None) -> dict[str, str]:
    """What agent/providers.py reads to point the OpenAI plugin at ``server``."""
    env = {"OPENAI_API_KEY": server.api_key, "OPENAI_BASE_URL": server.base_url}
    if modalities:
        env["AGENT_MODALITIES"] = modalities
    return env


def gemini_env(server: FakeGeminiLive, *, modalities: str | None = "text") -> dict[str, str]:
    """What agent/providers.py reads to point the Google plugin at ``server``. TLS trust has
    no hook there: set ``SSL_CERT_FILE=server.ca_file`` as well (see ``trust_fake_gemini``)."""
    env = {"GOOGLE_API_KEY": server.api_key, "GOOGLE_BASE_URL": server.base_url}
    if modalities:
        env["AGENT_MODALITIES"] = modalities
    if modalities == "text":
        # the default (native-audio) model answers only in audio; TEXT output needs a
        # half-cascade model (https://ai.google.dev/gemini-api/docs/live-guide)
        env["GEMINI_MODEL"] = HALF_CASCADE_MODEL
    return env


@pytest.fixture
def trust_fake_gemini(fake_gemini: FakeGeminiLive, monkeypatch: pytest.MonkeyPatch) -> FakeGeminiLive:
    """google-genai reads SSL_CERT_FILE when the plugin builds its client (at connect)."""
    assert fake_gemini.ca_file
    monkeypatch.setenv("SSL_CERT_FILE", fake_gemini.ca_file)
    return fake_gemini


class WireLog:
    """Stamps, in one global order and with a clock, when each connection of a fake opened,
    each client message it received (Gemini: setup included), and when it closed.

    It hooks the fake's change notification, which the fakes call right after recording
    each of these, so the order across connections is exact.
    """

    def __init__(self, server: Any) -> None:
        self.server = server
        self.entries: list[tuple[int, float, int, str, Any]] = []  # seq, time, conn, what, msg
        self._seen: dict[int, tuple[int, bool]] = {}
        inner = server._notify

        def notify() -> None:
            self._scan()
            inner()

        server._notify = notify
        self._scan()

    @staticmethod
    def _client_messages(conn: Any) -> list[Any]:
        raw = getattr(conn, "raw", None)  # Gemini keeps setup in raw; OpenAI has received only
        return raw if raw is not None else conn.received

    def _scan(self) -> None:
        now = time.perf_counter()
        for conn in self.server.connections:
            if conn.index not in self._seen:
                self._add(now, conn.index, "open", None)
                self._seen[conn.index] = (0, False)
            n, closed = self._seen[conn.index]
            msgs = self._client_messages(conn)
            for msg in msgs[n:]:
                self._add(now, conn.index, "recv", msg)
            if conn.closed and not closed:
                self._add(now, conn.index, "close", None)
            self._seen[conn.index] = (len(msgs), conn.closed)

    def _add(self, now: float, index: int, what: str, msg: Any) -> None:
        self.entries.append((len(self.entries), now, index, what, msg))

    def seq(self, index: int, what: str) -> list[int]:
        return [e[0] for e in self.entries if e[2] == index and e[3] == what]

    def opened(self, index: int) -> int:
        (seq,) = self.seq(index, "open")
        return seq

    def last_received(self, index: int) -> int:
        return max(self.seq(index, "recv"), default=-1)

    def first_time(self, pred: Any, after: float = 0.0) -> float | None:
        """Clock time of the first entry ``pred(conn_index, what, msg)`` accepts."""
        return next((t for _, t, i, w, m in self.entries if t >= after and pred(i, w, m)), None)


# What each provider can change mid-session, as the templates' `capabilities` say it:
# written out here from the providers' documented behaviour (shared/DESIGN.md), so the
# instructions a test expects come from the persona files, not from the agent under test.
CAPABILITIES = {
    "openai": {"instructions_apply_live": True, "context_edits_live": True, "voice_can_change": True, "voice_changes_live": False},
    "google": {"instructions_apply_live": False, "context_edits_live": False, "voice_can_change": True, "voice_changes_live": False},
    "pipeline": {"instructions_apply_live": True, "context_edits_live": True, "voice_can_change": True, "voice_changes_live": True},
    # livekit-plugins-ultravox 1.8.9: new instructions start a new call; removals send nothing
    "ultravox": {"instructions_apply_live": False, "context_edits_live": False, "voice_can_change": True, "voice_changes_live": False},
}


def expected_instructions(provider: str, persona: str = "assistant") -> str:
    """The persona's system prompt as its template renders it, for ``provider``."""
    library = prompts.PromptLibrary()
    variables = prompts.standard_variables(library.persona(persona), capabilities=CAPABILITIES[provider])
    return library.render_persona(persona, **variables)


def expected_line(name: str, persona: str = "assistant", **extra: Any) -> str:
    library = prompts.PromptLibrary()
    return library.render(name, **prompts.standard_variables(library.persona(persona)) | extra)


def controlled_session(provider_name: str, env: dict[str, str], *, persona: str = "assistant", greet: bool = False) -> Any:
    """The shared harness (tests/harness.py) on ``Provider(provider_name, env)``."""
    from agent.providers import Provider

    return start_chat(provider=Provider(provider_name, env), persona=persona, greet=greet)


async def until(cond: Any, timeout: float = 2.0, what: str = "condition") -> None:
    """Poll ``cond`` (cheap, in-process) until true; fail after ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not cond():
        if loop.time() > deadline:
            raise AssertionError(f"{what} not met within {timeout}s")
        await asyncio.sleep(0.005)


# ------------------------------------------------------------------------------------------
# The Ultravox fake
# ------------------------------------------------------------------------------------------


@pytest.fixture
async def fake_ultravox() -> AsyncIterator[FakeUltravox]:
    """A started :class:`FakeUltravox`; point the provider at it with ``ultravox_env``. Every
    message both ways and every call request is checked against Ultravox's documented fields
    (``ultravox_schema.py``): the test fails at teardown on any violation or protocol error."""
    async with FakeUltravox() as server:
        yield server
    fail_on_schema_violations(server)


def ultravox_env(server: FakeUltravox, *, modalities: str | None = "text") -> dict[str, str]:
    """What agent/providers.py reads to point the Ultravox plugin at ``server``."""
    env = {"ULTRAVOX_API_KEY": server.api_key, "ULTRAVOX_BASE_URL": server.base_url}
    if modalities:
        env["AGENT_MODALITIES"] = modalities
    return env


# ------------------------------------------------------------------------------------------
# The Chat Completions fake (the pipeline provider's OpenAI-compatible LLM).
# ------------------------------------------------------------------------------------------

@pytest.fixture
async def fake_chat() -> AsyncIterator[FakeChatCompletions]:
    """A started :class:`FakeChatCompletions`; point the pipeline provider at it with
    ``fake_chat.env()`` (``LLM_BASE_URL``, ``LLM_API_KEY``) or use ``fake_chat.llm()``.
    Requests and streamed chunks are checked against the ``openai`` SDK's types: the test
    fails at teardown if any did not match (see ``schema_violations``)."""
    async with FakeChatCompletions() as server:
        yield server
    fail_on_schema_violations(server)

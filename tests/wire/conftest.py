"""Fixtures for the wire tests: loopback fakes of the OpenAI Realtime and Gemini Live APIs.

Each fixture starts a server on 127.0.0.1 (random port) for one test and stops it when the
test ends. Nothing leaves the machine and no API key is needed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from .fake_gemini import FakeGeminiLive
from .fake_openai import FakeOpenAIRealtime


@pytest.fixture
async def fake_openai() -> AsyncIterator[FakeOpenAIRealtime]:
    """A started :class:`FakeOpenAIRealtime`; pass ``**fake_openai.model_kwargs()`` (or use
    ``fake_openai.realtime_model(...)``) to point the OpenAI plugin at it."""
    async with FakeOpenAIRealtime() as server:
        yield server


@pytest.fixture
async def fake_gemini() -> AsyncIterator[FakeGeminiLive]:
    """A started :class:`FakeGeminiLive` (TLS, self-signed); pass
    ``**fake_gemini.model_kwargs()`` (or use ``fake_gemini.realtime_model(...)``) to point
    the Google plugin at it."""
    async with FakeGeminiLive() as server:
        yield server

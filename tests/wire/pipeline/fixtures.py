"""The Chat Completions fake (the pipeline's OpenAI-compatible LLM) as a fixture
(tests/wire/conftest.py picks this module up)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from ..checks import fail_on_schema_violations
from .fake_chat_completions import FakeChatCompletions

__all__ = ["fake_chat"]

# what this provider can change mid-session, as the templates' `capabilities` say it: written
# out from its documented behaviour (shared/DESIGN.md), not read from the agent under test
CAPABILITIES = {"instructions_apply_live": True, "context_edits_live": True, "voice_can_change": True, "voice_changes_live": True}


@pytest.fixture
async def fake_chat() -> AsyncIterator[FakeChatCompletions]:
    """A started :class:`FakeChatCompletions`; point the pipeline provider at it with
    ``fake_chat.env()`` (``LLM_BASE_URL``, ``LLM_API_KEY``) or use ``fake_chat.llm()``.
    Requests and streamed chunks are checked against the ``openai`` SDK's types: the test
    fails at teardown if any did not match (see ``schema_violations``)."""
    async with FakeChatCompletions() as server:
        yield server
    fail_on_schema_violations(server)

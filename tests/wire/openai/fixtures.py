"""The OpenAI Realtime fake as a fixture, and what points the provider at it
(tests/wire/conftest.py picks this module up)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from ..checks import fail_on_schema_violations
from .fake_openai import FakeOpenAIRealtime

__all__ = ["fake_openai", "openai_env"]

# what this provider can change mid-session, as the templates' `capabilities` say it: written
# out from its documented behaviour (shared/DESIGN.md), not read from the agent under test
CAPABILITIES = {"instructions_apply_live": True, "context_edits_live": True, "voice_can_change": True, "voice_changes_live": False}


@pytest.fixture
async def fake_openai() -> AsyncIterator[FakeOpenAIRealtime]:
    """A started :class:`FakeOpenAIRealtime`; pass ``**fake_openai.model_kwargs()`` (or use
    ``fake_openai.realtime_model(...)``) to point the OpenAI plugin at it. Every event both
    ways is checked against the ``openai`` SDK's types: the test fails at teardown if any did
    not match (see ``schema_violations``)."""
    async with FakeOpenAIRealtime() as server:
        yield server
    fail_on_schema_violations(server)


def openai_env(server: FakeOpenAIRealtime, *, modalities: str | None = None) -> dict[str, str]:
    """What agent/providers/openai.py reads to point the OpenAI plugin at ``server``."""
    env = {"OPENAI_API_KEY": server.api_key, "OPENAI_BASE_URL": server.base_url}
    if modalities:
        env["AGENT_MODALITIES"] = modalities
    return env

"""The Ultravox fake as a fixture, and what points the provider at it
(tests/wire/conftest.py picks this module up)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from ..checks import fail_on_schema_violations
from .fake_ultravox import FakeUltravox

__all__ = ["fake_ultravox", "ultravox_env"]

# what this provider can change mid-session, as the templates' `capabilities` say it: written
# out from its documented behaviour (shared/DESIGN.md), not read from the agent under test
# (livekit-plugins-ultravox 1.8.9: new instructions start a new call; removals send nothing)
CAPABILITIES = {"instructions_apply_live": False, "context_edits_live": False, "voice_can_change": True, "voice_changes_live": False}


@pytest.fixture
async def fake_ultravox() -> AsyncIterator[FakeUltravox]:
    """A started :class:`FakeUltravox`; point the provider at it with ``ultravox_env``. Every
    message both ways and every call request is checked against Ultravox's documented fields
    (``ultravox_schema.py``): the test fails at teardown on any violation or protocol error."""
    async with FakeUltravox() as server:
        yield server
    fail_on_schema_violations(server)


def ultravox_env(server: FakeUltravox, *, modalities: str | None = "text") -> dict[str, str]:
    """What agent/providers/ultravox.py reads to point the Ultravox plugin at ``server``."""
    env = {"ULTRAVOX_API_KEY": server.api_key, "ULTRAVOX_BASE_URL": server.base_url}
    if modalities:
        env["AGENT_MODALITIES"] = modalities
    return env

"""The Gemini Live fake as a fixture, and what points the provider at it
(tests/wire/conftest.py picks this module up)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from .fake_gemini import FakeGeminiLive

__all__ = ["HALF_CASCADE_MODEL", "assert_gemini_schema_clean", "fake_gemini", "gemini_env", "trust_fake_gemini"]

# what this provider can change mid-session, as the templates' `capabilities` say it: written
# out from its documented behaviour (shared/DESIGN.md), not read from the agent under test
CAPABILITIES = {"instructions_apply_live": False, "context_edits_live": False, "voice_can_change": True, "voice_changes_live": False}
HALF_CASCADE_MODEL = "gemini-live-2.5-flash-preview"  # answers in TEXT (see gemini_env)


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


def gemini_env(server: FakeGeminiLive, *, modalities: str | None = "text") -> dict[str, str]:
    """What agent/providers/google.py reads to point the Google plugin at ``server``. TLS trust has
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

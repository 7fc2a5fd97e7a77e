"""What points the inference provider at the OpenAI Realtime fake (``fake_openai``, from
tests/wire/openai/fixtures.py); tests/wire/conftest.py picks this module up."""

from __future__ import annotations

from ..openai.fake_openai import FakeOpenAIRealtime

__all__ = ["inference_env"]

# as OpenAI Realtime's (tests/wire/openai/fixtures.py): for openai/* models the gateway speaks
# the OpenAI Realtime protocol; written out, not read from the agent under test
CAPABILITIES = {"instructions_apply_live": True, "context_edits_live": True, "voice_can_change": True, "voice_changes_live": False}

# a LiveKit key pair of the tests' own; the secret signs the token the fake receives
API_KEY = "APIloopback"
API_SECRET = "loopback-secret-loopback-secret-0"


def inference_env(server: FakeOpenAIRealtime, *, modalities: str | None = None, model: str | None = None) -> dict[str, str]:
    """What agent/providers/inference.py reads to point the inference model at ``server``."""
    env = {"LIVEKIT_API_KEY": API_KEY, "LIVEKIT_API_SECRET": API_SECRET, "LIVEKIT_INFERENCE_URL": server.base_url}
    if modalities:
        env["AGENT_MODALITIES"] = modalities
    if model:
        env["INFERENCE_MODEL"] = model
    return env

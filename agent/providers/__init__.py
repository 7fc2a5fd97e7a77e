"""Which model the agent runs on, from the environment or ``.env.local``: one module per
provider (offline, pipeline, openai, google, ultravox, aws, inference), each declaring its ``SPEC``
(spec.py), and one line per provider in the registry (registry.py) adds one.

OPENAI_API_KEY selects OpenAI Realtime, GOOGLE_API_KEY Gemini Live, ULTRAVOX_API_KEY
Ultravox, LLM_BASE_URL a pipeline with any OpenAI-compatible LLM; with none of them
the agent runs on the offline model. ``--provider`` (AGENT_PROVIDER) overrides the
choice; AWS Nova Sonic (``aws``) and LiveKit Inference (``inference``) are only chosen
that way, since AWS credentials in an environment are usually there for something else
and the LiveKit ones are on every worker. Each
provider's plugin is imported only when that provider is chosen, which keeps
the offline chat's start-up fast.
"""

from __future__ import annotations

from ..env import ConfigError, load_env, read_env_file
from .provider import Provider
from .registry import (
    ENDPOINTS, KNOWN, PROVIDERS, REALTIME, REQUIRED, SETTINGS, SPECS, VOICE_KEYS, changeable_for, check_config,
    choose_provider, describe_endpoint, spec_for, url_host,
)  # fmt: skip
from .spec import Endpoint, ProviderSpec

__all__ = [
    "ENDPOINTS", "KNOWN", "PROVIDERS", "REALTIME", "REQUIRED", "SETTINGS", "SPECS", "VOICE_KEYS", "ConfigError",
    "Endpoint", "Provider", "ProviderSpec", "changeable_for", "check_config", "choose_provider", "describe_endpoint",
    "load_env", "read_env_file", "spec_for", "url_host",
]  # fmt: skip

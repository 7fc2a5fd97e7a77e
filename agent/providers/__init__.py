"""Which model the agent runs on, from the environment or ``.env.local``.

OPENAI_API_KEY selects OpenAI Realtime, GOOGLE_API_KEY Gemini Live, ULTRAVOX_API_KEY
Ultravox, LLM_BASE_URL a pipeline with any OpenAI-compatible LLM; with none of them
the agent runs on the offline model. ``--provider`` (AGENT_PROVIDER) overrides the
choice; AWS Nova Sonic (``aws``) is only chosen that way, since AWS credentials in an
environment are usually there for something else. Each
provider's plugin is imported only when that provider is chosen, which keeps
the offline chat's start-up fast.
"""

from __future__ import annotations

from ..env import ConfigError, load_env, read_env_file
from .provider import Provider
from .registry import ENDPOINTS, PROVIDERS, REALTIME, REQUIRED, check_config, choose_provider, describe_endpoint, url_host

__all__ = [
    "ENDPOINTS", "PROVIDERS", "REALTIME", "REQUIRED", "ConfigError", "Provider", "check_config", "choose_provider",
    "describe_endpoint", "load_env", "read_env_file", "url_host",
]  # fmt: skip

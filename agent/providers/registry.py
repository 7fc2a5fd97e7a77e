"""Which provider runs, what it cannot start without, and where its traffic goes."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

from ..env import ConfigError

PROVIDERS = ("offline", "pipeline", "openai", "google", "ultravox", "aws")
REALTIME = ("openai", "google", "ultravox", "aws")


def choose_provider(env: Mapping[str, str], override: str | None = None) -> str:
    name = (override or env.get("AGENT_PROVIDER") or "").strip().lower()
    if name:
        if name not in PROVIDERS:
            raise ConfigError(f"unknown provider {name!r}; choose one of: {', '.join(PROVIDERS)}")
        return name
    if env.get("OPENAI_API_KEY"):
        return "openai"
    if env.get("GOOGLE_API_KEY"):
        return "google"
    if env.get("ULTRAVOX_API_KEY"):
        return "ultravox"
    if env.get("LLM_BASE_URL"):
        return "pipeline"
    return "offline"


# what each provider cannot start without: (variable, what to put there)
REQUIRED: dict[str, tuple[tuple[str, str], ...]] = {
    "openai": (("OPENAI_API_KEY", "an OpenAI API key"),),
    "google": (("GOOGLE_API_KEY", "a Gemini API key"),),
    "pipeline": (("LLM_BASE_URL", "an OpenAI-compatible LLM, e.g. http://localhost:11434/v1 for Ollama"),),
    "ultravox": (("ULTRAVOX_API_KEY", "an Ultravox API key"),),
    # aws: boto3 finds credentials in several places (~/.aws, a profile, an instance role)
}

# where each provider's traffic goes: (what, the variable that redirects it, its default host)
ENDPOINTS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "openai": (("", "OPENAI_BASE_URL", "api.openai.com"),),
    "google": (("", "GOOGLE_BASE_URL", "generativelanguage.googleapis.com"),),
    "pipeline": (("LLM", "LLM_BASE_URL", ""), ("STT", "STT_BASE_URL", ""), ("TTS", "TTS_BASE_URL", "")),
    "ultravox": (("", "ULTRAVOX_BASE_URL", "api.ultravox.ai"),),
}


def check_config(name: str, env: Mapping[str, str]) -> None:
    """Refuse, in one line, a provider whose required variables are not set."""
    for variable, what in REQUIRED.get(name, ()):
        if not env.get(variable, "").strip():
            raise ConfigError(f"the {name} provider needs {variable} ({what}); set it in the environment or .env.local")


def describe_endpoint(name: str, env: Mapping[str, str]) -> str:
    """One line saying which provider runs and which hosts it talks to (never a key),
    with the variable that redirected each, so a base URL from .env.local is never a surprise."""
    if name == "offline":
        return "provider offline: the built-in model, no network"
    if name == "aws":  # the plugin's endpoint is fixed to the region's Bedrock runtime
        region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1"
        return f"provider aws: at bedrock-runtime.{region}.amazonaws.com"
    parts = []
    for what, variable, default in ENDPOINTS.get(name, ()):
        if env.get(variable):
            host = f"{url_host(env[variable])} (from {variable})"
        elif name == "pipeline" and what != "LLM" and env.get("OPENAI_API_KEY"):
            host = "api.openai.com"  # the pipeline's speech falls back to OpenAI
        elif default:
            host = default
        else:
            continue
        parts.append(f"{what} at {host}" if what else f"at {host}")
    return f"provider {name}: " + (", ".join(parts) if parts else "no endpoint configured")


def url_host(url: str) -> str:
    """host[:port] of a URL, without any user name or password in it."""
    try:
        split = urlsplit(url if "//" in url else f"//{url}")
        port = f":{split.port}" if split.port else ""
        return f"{split.hostname}{port}" if split.hostname else "an unreadable URL"
    except ValueError:
        return "an unreadable URL"

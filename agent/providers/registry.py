"""The providers, one line each, and what is decided over all of them: which one runs,
what it cannot start without, and the start-up line saying where its traffic goes."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

from ..env import ConfigError
from ..session import capabilities
from ..session.capabilities import Changeable
from . import aws, google, inference, offline, openai, pipeline, speech, ultravox
from .spec import ProviderSpec

SPECS: tuple[ProviderSpec, ...] = (
    offline.SPEC,
    pipeline.SPEC,
    openai.SPEC,
    google.SPEC,
    ultravox.SPEC,
    aws.SPEC,
    inference.SPEC,
)  # the order --provider lists them in
# without --provider (or AGENT_PROVIDER): the first of these whose required variables are
# all set, else FALLBACK
AUTOMATIC = ("openai", "google", "ultravox", "pipeline")
FALLBACK = "offline"

BY_NAME = {spec.name: spec for spec in SPECS}
PROVIDERS = tuple(BY_NAME)
REALTIME = tuple(spec.name for spec in SPECS if spec.realtime)
REQUIRED = {spec.name: spec.required for spec in SPECS if spec.required}
ENDPOINTS = {spec.name: spec.endpoints for spec in SPECS if spec.endpoints}
KNOWN: dict[str, Changeable] = {spec.name: spec.changeable for spec in SPECS}
# every variable a provider reads (its speech's too)
SETTINGS = tuple(dict.fromkeys([*(v for spec in SPECS for v in spec.settings), *speech.SETTINGS]))
# every key of a persona's `voices:` a provider reads (prompts/persona.py checks persona files against its own copy)
VOICE_KEYS = tuple(dict.fromkeys([*(spec.voice_key for spec in SPECS if spec.voice_key), *speech.VOICE_KEYS]))


def spec_for(name: str) -> ProviderSpec:
    if name not in BY_NAME:
        raise ConfigError(f"unknown provider {name!r}; choose one of: {', '.join(PROVIDERS)}")
    return BY_NAME[name]


def choose_provider(env: Mapping[str, str], override: str | None = None) -> str:
    name = (override or env.get("AGENT_PROVIDER") or "").strip().lower()
    if name:
        return spec_for(name).name
    return next((n for n in AUTOMATIC if all(env.get(v) for v, _ in BY_NAME[n].required)), FALLBACK)


def changeable_for(name: str, model: object) -> Changeable:
    """The provider's capability row, merged with what its model reports (capabilities.py)."""
    return capabilities.changeable_for(KNOWN.get(name), model)


def check_config(name: str, env: Mapping[str, str]) -> None:
    """Refuse, in one line, a provider whose required variables are not set."""
    for variable, what in REQUIRED.get(name, ()):
        if not env.get(variable, "").strip():
            raise ConfigError(f"the {name} provider needs {variable} ({what}); set it in the environment or .env.local")
    if (spec := BY_NAME.get(name)) is not None and spec.check is not None:
        spec.check(env)


def describe_endpoint(name: str, env: Mapping[str, str]) -> str:
    """One line saying which provider runs and which hosts it talks to (never a key),
    with the variable that redirected each, so a base URL from .env.local is never a surprise."""
    spec = BY_NAME.get(name)
    if spec is not None and spec.describe is not None:
        return spec.describe(env)
    parts = []
    for point in spec.endpoints if spec is not None else ():
        if env.get(point.variable):
            host = f"{url_host(env[point.variable])} (from {point.variable})"
        elif point.default and (not point.default_if or env.get(point.default_if)):
            host = point.default
        else:
            continue
        parts.append(f"{point.what} at {host}" if point.what else f"at {host}")
    return f"provider {name}: " + (", ".join(parts) if parts else "no endpoint configured")


def url_host(url: str) -> str:
    """host[:port] of a URL, without any user name or password in it."""
    try:
        split = urlsplit(url if "//" in url else f"//{url}")
        port = f":{split.port}" if split.port else ""
        return f"{split.hostname}{port}" if split.hostname else "an unreadable URL"
    except ValueError:
        return "an unreadable URL"

"""What a provider module declares about its provider (its ``SPEC``); the registry and
:class:`~agent.providers.provider.Provider` read nothing else about it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from livekit.agents import llm

from ..session.capabilities import Changeable
from ..session.confirmations import Confirmations, Unasked
from ..session.model_source import ModelHooks

Env = Mapping[str, str]


@dataclass(frozen=True)
class Endpoint:
    """Where some of a provider's traffic goes, for the start-up line."""

    what: str  # "" for a provider's one endpoint, else what goes there ("LLM", "STT", ...)
    variable: str  # the variable that redirects it
    default: str = ""  # the host it goes to when the variable is not set ("" none)
    default_if: str = ""  # the default applies only when this variable is set


def _nothing() -> None:
    return None


def _unasked(rt_session: Any) -> Confirmations:
    return Unasked()


def _unwatched(rt_session: Any, produced: Callable[[], None]) -> None:
    return None


@dataclass(frozen=True)
class ProviderSpec:
    """One provider, as its module declares it; ``registry.SPECS`` lists them."""

    name: str  # as --provider and AGENT_PROVIDER name it
    realtime: bool  # its model hears and speaks for itself (a RealtimeModel)
    changeable: Changeable  # what it can change mid-session (capabilities.py merges livekit's report)
    # a new model each call: (env, a persona's voices, the session's ModelHooks or None) -> model
    build_model: Callable[[Env, Mapping[str, str], ModelHooks | None], llm.LLM | llm.RealtimeModel]
    voice_key: str | None = None  # the key in a persona's `voices:` its model is built with
    settings: tuple[str, ...] = ()  # the variables it reads
    required: tuple[tuple[str, str], ...] = ()  # what it cannot start without: (variable, what to put there)
    endpoints: tuple[Endpoint, ...] = ()
    describe: Callable[[Env], str] | None = None  # its start-up line, where its endpoints do not say it
    check: Callable[[Env], None] | None = None  # refuses (ConfigError) a setting it cannot start with
    import_plugin: Callable[[], object] = _nothing  # on the main thread: livekit plugins register on import
    # its answers to in-place updates on a realtime session (agent/session/confirmations.py)
    confirmations: Callable[[Any], Confirmations] = _unasked
    # (realtime session, callback): call back whenever the session produces audio, where it can tell
    watch_audio: Callable[[Any, Callable[[], None]], None] = _unwatched

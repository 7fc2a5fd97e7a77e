"""A realtime plugin's keyword arguments, read from the environment."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def plugin_options(
    env: Mapping[str, str], voices: Mapping[str, str], *, api_key: str, voice_key: str, **optional: str
) -> dict[str, Any]:
    """``api_key`` from its variable ("unset" where none is set: the plugin insists on
    one, and the start-up check has refused a missing one already), each ``optional``
    keyword whose variable is set (keyword=variable), and the persona's voice."""
    kwargs: dict[str, Any] = {"api_key": env.get(api_key) or "unset"}
    kwargs |= {keyword: env[variable] for keyword, variable in optional.items() if env.get(variable)}
    if voices.get(voice_key):
        kwargs["voice"] = voices[voice_key]
    return kwargs

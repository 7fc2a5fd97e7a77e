"""The offline model: no keys, no network."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..env import ConfigError
from ..offline.model import OfflineLLM


def build_model(hooks: tuple[Callable[[], Any], Callable[[], str]] | None) -> OfflineLLM:
    if hooks is None:
        raise ConfigError("the offline model needs its router and offline line")
    router, line = hooks
    return OfflineLLM(router=router, offline_line=line)

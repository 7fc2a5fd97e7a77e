"""Configuration from the environment over ``.env.local``. Imports no LiveKit, so the
``prompts`` commands read the same settings (``PROMPTS_DIR``) and still start at once."""

from __future__ import annotations

import os
from pathlib import Path


class ConfigError(ValueError):
    pass


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines; comments, blank lines and `export ` prefixes allowed."""
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        line = line.removeprefix("export ").strip()
        key, sep, value = line.partition("=")
        if not sep or not key.strip().isidentifier():
            raise ConfigError(f"{path}:{number}: expected KEY=VALUE")
        values[key.strip()] = value.strip().strip("'\"")
    return values


def load_env(path: Path = Path(".env.local")) -> dict[str, str]:
    """The process environment over ``.env.local`` (the environment wins)."""
    return {**read_env_file(path), **os.environ}

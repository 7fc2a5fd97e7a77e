"""AWS Nova Sonic (livekit-plugins-aws[realtime], Python 3.12+). Chosen only by name
(``--provider aws``): AWS credentials in an environment are usually there for something
else. boto3 finds the credentials in several places (~/.aws, a profile, an instance
role), so none is required here."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from livekit.agents import llm

from ..env import ConfigError
from ..session.capabilities import Changeable
from .spec import ProviderSpec


def import_plugin() -> Any:
    try:
        from livekit.plugins.aws.experimental import realtime
    except ImportError as e:  # the extra is marked python_version >= '3.12'
        raise ConfigError(
            "AWS Nova Sonic needs Python 3.12 or newer and the aws extra: pip install -e '.[aws]'"
            f" ({e.name or e})"
        ) from None
    return realtime


AWS_CREDENTIALS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE")


def build_model(env: Mapping[str, str], voices: Mapping[str, str], hooks: Any = None) -> llm.RealtimeModel:
    """The plugin takes no credentials: boto3 reads them from the process environment (or
    ~/.aws), so those given in .env.local are exported for it. The endpoint is fixed to the
    region's Bedrock runtime (AWS_REGION, default us-east-1)."""
    realtime = import_plugin()
    for name in AWS_CREDENTIALS:
        if env.get(name) and not os.environ.get(name):
            os.environ[name] = env[name]
    kwargs: dict[str, Any] = {}
    if region := env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION"):
        kwargs["region"] = region
    if env.get("NOVA_SONIC_MODEL"):
        kwargs["model"] = env["NOVA_SONIC_MODEL"]
    if voices.get("aws"):
        kwargs["voice"] = voices["aws"]
    return realtime.RealtimeModel(**kwargs)


def describe(env: Mapping[str, str]) -> str:
    # the plugin's endpoint is fixed to the region's Bedrock runtime
    region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1"
    return f"provider aws: at bedrock-runtime.{region}.amazonaws.com"


SPEC = ProviderSpec(
    name="aws",
    realtime=True,
    # livekit-plugins-aws 1.8.9 (Nova Sonic): instructions and history only at session start,
    # no voice setter
    changeable=Changeable(instructions_live=False, context_live=False, voice="reconnect"),
    build_model=build_model,
    voice_key="aws",
    settings=("AWS_REGION", "AWS_DEFAULT_REGION", "NOVA_SONIC_MODEL", *AWS_CREDENTIALS),
    describe=describe,
    import_plugin=import_plugin,
)

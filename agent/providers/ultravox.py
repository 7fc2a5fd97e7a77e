"""Ultravox's RealtimeModel (livekit-plugins-ultravox 1.8.9) with two fixes this agent
needs; public names of the plugin only.

1. **Fields the plugin drops.** It builds ``UserTextMessageEvent(defer_response=...)``
   and ``ClientToolResultEvent(agent_reaction=...)`` by field name, but those fields
   have camelCase aliases and the models no populate-by-name (``realtime/events.py``
   lines 59-63, 93-95), so pydantic ignores the keyword: ``deferResponse`` never goes
   out and ``agentReaction`` is always ``speaks``. Every history message of a fresh call
   and every barge-in then asks Ultravox for a reply, and a tool result that wants none
   (a hand-off's) is still answered. Ultravox reads both in camelCase
   (docs.ultravox.ai/apps/datamessages; its JS SDK sends ``deferResponse`` and
   ``agentReaction``), which the plugin serializes (``by_alias=True``), so letting the
   two models be filled by field name is the whole fix.
2. **An HTTP session of its own.** Without one the model takes the job's shared
   ``http_context`` session and closes it in ``aclose()`` (``realtime_model.py`` lines
   239-244, 270-272): closing the model handed off from would cut the WebSocket of the
   fresh call that replaced it. Each model built inside the event loop gets its own
   session, closed with it.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Mapping
from typing import Any

from livekit.agents import llm

from ..session.capabilities import Changeable
from .settings import plugin_options
from .spec import Endpoint, ProviderSpec


def fix_event_fields() -> None:
    from livekit.plugins.ultravox.realtime import ClientToolResultEvent, UserTextMessageEvent

    for model in (UserTextMessageEvent, ClientToolResultEvent):
        if not model.model_config.get("populate_by_name"):
            model.model_config["populate_by_name"] = True
            model.model_rebuild(force=True)


@functools.cache
def _model_class() -> type:
    import aiohttp
    from livekit.plugins import ultravox

    class RealtimeModel(ultravox.RealtimeModel):
        def __init__(self, **kwargs: Any) -> None:
            try:
                asyncio.get_running_loop()
                self.own_http_session: aiohttp.ClientSession | None = aiohttp.ClientSession()
            except RuntimeError:  # built only to read its capabilities: it never connects
                self.own_http_session = None
            super().__init__(http_session=self.own_http_session, **kwargs)

        async def aclose(self) -> None:
            await super().aclose()
            if self.own_http_session is not None:
                await self.own_http_session.close()

    return RealtimeModel


def realtime_model(**kwargs: Any) -> Any:
    """``livekit.plugins.ultravox.RealtimeModel(**kwargs)``, fixed as above."""
    fix_event_fields()
    return _model_class()(**kwargs)


def import_plugin() -> None:
    from livekit.plugins import ultravox  # noqa: F401


def build_model(env: Mapping[str, str], voices: Mapping[str, str], hooks: Any = None) -> llm.RealtimeModel:
    kwargs = plugin_options(
        env, voices, api_key="ULTRAVOX_API_KEY", voice_key="ultravox", base_url="ULTRAVOX_BASE_URL", model="ULTRAVOX_MODEL"
    )
    if env.get("AGENT_MODALITIES") == "text":
        kwargs["output_medium"] = "text"
    return realtime_model(**kwargs)


SPEC = ProviderSpec(
    name="ultravox",
    realtime=True,
    # livekit-plugins-ultravox 1.8.9: new instructions restart the call without its history,
    # removals send nothing, the voice is set only when a call is created; seeding a call
    # with an earlier tool result sends it as the answer to an invocation this call never made
    changeable=Changeable(instructions_live=False, context_live=False, voice="reconnect", seeds_tool_results=False),
    build_model=build_model,
    voice_key="ultravox",
    settings=("ULTRAVOX_API_KEY", "ULTRAVOX_BASE_URL", "ULTRAVOX_MODEL"),
    required=(("ULTRAVOX_API_KEY", "an Ultravox API key"),),
    endpoints=(Endpoint("", "ULTRAVOX_BASE_URL", "api.ultravox.ai"),),
    import_plugin=import_plugin,
)

"""Honest session control for a LiveKit agent: away, forget and persona switches that
really take effect on every provider this project supports.

The public API is the handful of names in ``__all__``::

    from agent import ControlledAgent, controlled_session

    class Concierge(ControlledAgent):  # your own tools and hooks; call super() in hooks you override
        ...

    async with controlled_session(instructions="You are the front desk of ...", agent_class=Concierge) as live:
        await live.start(room=ctx.room)

The rest of the package is this project's own agent (personas, the chat, the worker),
built on the same names. They load lazily: ``python -m agent prompts`` never imports
LiveKit.
"""

import os
from importlib import import_module
from typing import Any

# onnxruntime (Piper, and LiveKit's local VAD and turn detector) sends telemetry on
# Linux unless told not to; an offline session must attempt no connection
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

__all__ = [
    "AwayPolicy",
    "ControlledAgent",
    "ControlledSession",
    "PromptLibrary",
    "Provider",
    "SessionController",
    "build_session",
    "controlled_session",
]

_HOMES = {
    "AwayPolicy": "agent.session.away",
    "ControlledAgent": "agent.session.controlled_agent",
    "ControlledSession": "agent.compose",
    "PromptLibrary": "prompts",
    "Provider": "agent.providers",
    "SessionController": "agent.session.control",
    "build_session": "agent.compose",
    "controlled_session": "agent.compose",
}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'agent' has no attribute {name!r}")
    value = getattr(import_module(_HOMES[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])

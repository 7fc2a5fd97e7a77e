"""What users say stays out of the logs.

LiveKit logs each conversation line at DEBUG with its text in an ``lk.pii.text``
field (``AgentSession._conversation_item_added``), and other user data under
``lk.pii.*`` names (transcripts, tool arguments); ``console`` and ``dev`` log at
DEBUG, so forgotten words would stay in the terminal and in log files. A filter
replaces every field LiveKit marks as personal (its own test,
``livekit.agents.telemetry.pii.is_pii_attribute``) on the loggers that write them,
before any handler sees the record. ``AGENT_LOG_USER_TEXT=1`` leaves them in.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from livekit.agents.telemetry.pii import is_pii_attribute

OPT_IN = "AGENT_LOG_USER_TEXT"
REDACTED = "[redacted]"
# LiveKit's own loggers and the plugins' (livekit-agents' DTMF workflow logs the digits a
# caller keys in, a PIN say, on "dtmf-inputs"); the project's own (agent, prompts, tools)
# log no user words
_PREFIXES = ("livekit", "dtmf-inputs", "agent", "prompts", "tools")


class RedactUserText(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        for key in [k for k in vars(record) if is_pii_attribute(k)]:
            setattr(record, key, REDACTED)
        return True


_filter = RedactUserText()


def install(env: Mapping[str, str]) -> bool:
    """Redact on every logger there is now under those names (call it once the plugins
    are imported, where the session runs); calling it again is harmless. True when redacting."""
    if env.get(OPT_IN, "").strip().lower() in ("1", "true", "yes"):
        return False
    for logger in _loggers():
        if _filter not in logger.filters:
            logger.addFilter(_filter)
    return True


def remove() -> None:
    """Undo :func:`install` (for tests)."""
    for logger in _loggers():
        logger.removeFilter(_filter)


def _loggers() -> list[logging.Logger]:
    names = {n for n in logging.root.manager.loggerDict if n.split(".")[0] in _PREFIXES}
    return [logging.getLogger(n) for n in sorted({*_PREFIXES, "livekit.agents", *names})]

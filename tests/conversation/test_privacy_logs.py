"""A forgotten line appears in no log record, at any level: LiveKit logs every line
said at DEBUG with its text in ``lk.pii.text`` (AgentSession._conversation_item_added),
and ``console``/``dev`` log at DEBUG."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from agent import privacy
from tests.helpers import chat_events, of_type

SECRET = "my card PIN is 4321"
LOGGERS = ("", "livekit", "livekit.agents", "agent", "prompts", "tools")


@pytest.fixture
def every_record(caplog) -> Iterator[pytest.LogCaptureFixture]:
    """Every record at every level (TRACE is 5), with no redaction left from another test."""
    privacy.remove()
    levels = {name: logging.getLogger(name).level for name in LOGGERS}
    for name in LOGGERS:
        logging.getLogger(name).setLevel(1)
    caplog.set_level(1)
    yield caplog
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)
    privacy.remove()


def _mentions(record: logging.LogRecord, words: str) -> bool:
    # any field, numbers aside: a timestamp or a thread id may contain the digits by chance
    fields = [v for v in vars(record).values() if not isinstance(v, (int, float))]
    return words in record.getMessage() or any(words in repr(value) for value in fields)


async def _chat_forgetting_a_secret(env: dict[str, str]) -> None:
    events = await chat_events(["hello", SECRET, "forget what I just said", "/history"], env=env)
    (history,) = of_type(events, "history")
    assert SECRET not in json.dumps(history, ensure_ascii=False)  # it was forgotten


async def test_the_chat_keeps_a_forgotten_line_out_of_every_log_record(every_record) -> None:
    await _chat_forgetting_a_secret({})
    records = every_record.records
    assert any(getattr(r, "lk.pii.text", None) == privacy.REDACTED for r in records)  # LiveKit did log the lines
    assert [(r.name, r.getMessage()) for r in records if _mentions(r, "4321")] == []


async def test_the_text_is_logged_only_on_explicit_opt_in(every_record) -> None:
    await _chat_forgetting_a_secret({privacy.OPT_IN: "1"})
    assert [getattr(r, "lk.pii.text") for r in every_record.records if _mentions(r, "4321")] == [SECRET]

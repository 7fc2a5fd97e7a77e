"""The privacy filter covers every logger LiveKit and the plugins log on, children included.

A filter on a logger sees only the records logged on that very logger: a record logged
on ``livekit.plugins.openai`` passes ``livekit``'s handlers without passing ``livekit``'s
filters. So ``privacy.install`` must reach each logger a record can start from. The
names are read here from the installed packages themselves (every
``logging.getLogger("...")`` and ``getLogger(__name__)`` under the ``livekit`` namespace),
so a new plugin or a new module of LiveKit is covered, or this test fails.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path

import livekit
import pytest

from agent import privacy

SECRET = "my PIN is 4321"
_LITERAL = re.compile(r"""getLogger\(\s*["']([^"']+)["']\s*\)""")
_BY_MODULE = re.compile(r"getLogger\(\s*__name__\s*\)")
# also loggers a user's words can reach that are no module's own: any child of those
CHILDREN = ("livekit.agents.voice", "livekit.agents.voice.agent_session", "livekit.plugins.openai.realtime")


def livekit_logger_names() -> list[str]:
    """Every logger name the installed livekit packages (agents, rtc, api, the plugins) use."""
    names: set[str] = set()
    for root in map(Path, livekit.__path__):
        for path in root.rglob("*.py"):
            text = path.read_text(encoding="utf-8", errors="replace")
            names.update(_LITERAL.findall(text))
            if _BY_MODULE.search(text):
                module = path.relative_to(root.parent).with_suffix("").as_posix().replace("/", ".")
                names.add(module.removesuffix(".__init__"))
    return sorted(names)


class Seen(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=1)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def _pii(record: logging.LogRecord) -> dict[str, object]:
    return {k: v for k, v in vars(record).items() if k.startswith("lk.pii.")}


@pytest.fixture
def loggers() -> Iterator[list[str]]:
    """The loggers, made as importing their modules makes them, then the filter installed
    (as the chat and the worker do once the plugins are imported)."""
    names = [*livekit_logger_names(), *CHILDREN]
    levels = {n: logging.getLogger(n).level for n in ["", *names]}
    privacy.remove()
    for name in names:
        logging.getLogger(name).setLevel(1)
    logging.getLogger().setLevel(1)
    assert privacy.install({})
    yield names
    privacy.remove()
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


def test_the_names_are_found_in_the_installed_packages() -> None:
    names = livekit_logger_names()
    for expected in ("livekit", "livekit.agents", "livekit.plugins.openai", "livekit.plugins.google", "dtmf-inputs"):
        assert expected in names
    assert any(n.startswith("livekit.agents.voice.") for n in names)  # a getLogger(__name__) one


def test_a_pii_field_on_any_livekit_logger_reaches_every_handler_redacted(loggers: list[str]) -> None:
    seen: dict[str, Seen] = {}
    for name in ["", "livekit", "livekit.agents", *loggers]:  # a handler at the root, at each parent, at the logger itself
        seen[name] = Seen()
        logging.getLogger(name).addHandler(seen[name])
    try:
        for name in loggers:
            logging.getLogger(name).debug("a line", extra={"lk.pii.text": SECRET, "lk.pii.user_input": SECRET})
    finally:
        for name, handler in seen.items():
            logging.getLogger(name).removeHandler(handler)

    leaked = sorted({(r.name, where) for where, h in seen.items() for r in h.records if SECRET in repr(_pii(r))})
    assert leaked == [], f"unredacted on {len(leaked)} (logger, handler) pairs: {leaked[:20]}"
    at_root = {r.name: _pii(r) for r in seen[""].records}
    assert set(at_root) == set(loggers)  # every record arrived, and each one redacted
    assert all(v == {"lk.pii.text": privacy.REDACTED, "lk.pii.user_input": privacy.REDACTED} for v in at_root.values())


def test_fields_that_are_not_personal_are_left_alone(loggers: list[str]) -> None:
    handler = Seen()
    logging.getLogger().addHandler(handler)
    try:
        logging.getLogger("livekit.plugins.openai").debug("x", extra={"lk.pii.text": SECRET, "role": "user", "call_id": "c1"})
    finally:
        logging.getLogger().removeHandler(handler)
    (record,) = handler.records
    assert (getattr(record, "lk.pii.text"), record.role, record.call_id) == (privacy.REDACTED, "user", "c1")


def _logged_text(env: dict[str, str]) -> object:
    """What a handler sees of ``lk.pii.text`` on LiveKit's logger once the chat installed
    the filter with ``env``."""
    privacy.remove()
    seen, logger = Seen(), logging.getLogger("livekit.agents")
    logger.addHandler(seen)
    level, logger.level = logger.level, 1
    try:
        privacy.install(env)
        logger.debug("a line", extra={"lk.pii.text": SECRET})
    finally:
        logger.removeHandler(seen)
        logger.setLevel(level)
        privacy.remove()
    (record,) = seen.records
    return getattr(record, "lk.pii.text")


@pytest.mark.parametrize("value", ["", "0", "no", "false", "off", "never"])
def test_only_an_explicit_yes_leaves_user_text_in_the_logs(value: str) -> None:
    assert _logged_text({privacy.OPT_IN: value}) == privacy.REDACTED


@pytest.mark.parametrize("value", ["1", "true", "yes", " TRUE ", "Yes"])
def test_an_explicit_yes_leaves_it_in(value: str) -> None:
    assert _logged_text({privacy.OPT_IN: value}) == SECRET

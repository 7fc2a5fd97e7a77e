"""What the wire tests share besides fixtures: what each provider can change mid-session,
the instructions and lines a test expects (rendered from the persona files, not read from
the agent under test), the session-control harness on a provider pointed at a fake, and a
log of a fake's connections in one global order.

The fixtures themselves are in conftest.py (pytest finds them there); import these from
here.
"""

from __future__ import annotations

import importlib
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import prompts
from tests.harness import start_chat


def _provider_fixtures() -> dict[str, ModuleType]:
    """Each provider's fixtures module (``tests/wire/<provider>/fixtures.py``), by provider."""
    return {
        path.parent.name: importlib.import_module(f"{__package__}.{path.parent.name}.fixtures")
        for path in sorted(Path(__file__).parent.glob("*/fixtures.py"))
    }


PROVIDER_FIXTURES = _provider_fixtures()

# What each provider can change mid-session, as the templates' `capabilities` say it (each
# provider's fixtures module writes its own out), so the instructions a test expects come
# from the persona files, not from the agent under test.
CAPABILITIES = {name: module.CAPABILITIES for name, module in PROVIDER_FIXTURES.items()}


# ------------------------------------------------------------------------------------------
# Helpers for the session-control wire tests: the REAL SessionController, ControlledAgent and
# AgentSession, on a provider built from environment values that point at a fake.
# ------------------------------------------------------------------------------------------


class WireLog:
    """Stamps, in one global order and with a clock, when each connection of a fake opened,
    each client message it received (Gemini: setup included), and when it closed.

    It hooks the fake's change notification, which the fakes call right after recording
    each of these, so the order across connections is exact.
    """

    def __init__(self, server: Any) -> None:
        self.server = server
        self.entries: list[tuple[int, float, int, str, Any]] = []  # seq, time, conn, what, msg
        self._seen: dict[int, tuple[int, bool]] = {}
        inner = server._notify

        def notify() -> None:
            self._scan()
            inner()

        server._notify = notify
        self._scan()

    @staticmethod
    def _client_messages(conn: Any) -> list[Any]:
        raw = getattr(conn, "raw", None)  # Gemini keeps setup in raw; OpenAI has received only
        return raw if raw is not None else conn.received

    def _scan(self) -> None:
        now = time.perf_counter()
        for conn in self.server.connections:
            if conn.index not in self._seen:
                self._add(now, conn.index, "open", None)
                self._seen[conn.index] = (0, False)
            n, closed = self._seen[conn.index]
            msgs = self._client_messages(conn)
            for msg in msgs[n:]:
                self._add(now, conn.index, "recv", msg)
            if conn.closed and not closed:
                self._add(now, conn.index, "close", None)
            self._seen[conn.index] = (len(msgs), conn.closed)

    def _add(self, now: float, index: int, what: str, msg: Any) -> None:
        self.entries.append((len(self.entries), now, index, what, msg))

    def seq(self, index: int, what: str) -> list[int]:
        return [e[0] for e in self.entries if e[2] == index and e[3] == what]

    def opened(self, index: int) -> int:
        (seq,) = self.seq(index, "open")
        return seq

    def last_received(self, index: int) -> int:
        return max(self.seq(index, "recv"), default=-1)

    def first_time(self, pred: Any, after: float = 0.0) -> float | None:
        """Clock time of the first entry ``pred(conn_index, what, msg)`` accepts."""
        return next((t for _, t, i, w, m in self.entries if t >= after and pred(i, w, m)), None)


def expected_instructions(provider: str, persona: str = "assistant") -> str:
    """The persona's system prompt as its template renders it, for ``provider``."""
    library = prompts.PromptLibrary()
    variables = prompts.standard_variables(library.persona(persona), capabilities=CAPABILITIES[provider])
    return library.render_persona(persona, **variables)


def expected_line(name: str, persona: str = "assistant", **extra: Any) -> str:
    library = prompts.PromptLibrary()
    return library.render(name, **prompts.standard_variables(library.persona(persona)) | extra)


def controlled_session(provider_name: str, env: dict[str, str], *, persona: str = "assistant", greet: bool = False) -> Any:
    """The shared harness (tests/harness.py) on ``Provider(provider_name, env)``."""
    from agent.providers import Provider

    return start_chat(provider=Provider(provider_name, env), persona=persona, greet=greet)


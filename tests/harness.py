"""One harness for every session test: the real controller and a real text-only
AgentSession on a given provider (offline, a scripted LLM, or a real plugin
pointed at a loopback server), driven with session.run."""

from __future__ import annotations

import shutil
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from livekit.agents import AgentSession, llm

import prompts
from prompts.library import PACKAGE_DIR, SUFFIX
from agent.session.away import AwayPolicy
from agent.compose import build_session
from agent.session.control import SessionController
from agent.providers import Provider
from tests.compat import timeout

TIME_LIMIT = 10.0  # a whole session test; a hang fails instead of blocking the suite


def prompts_folder(tmp_path: Path, templates: dict[str, str] | None = None) -> Path:
    """A copy of the shipped prompts in ``tmp_path``, with ``templates`` (name without the
    suffix, such as ``lines/away_ack`` -> text) written over it."""
    root = Path(shutil.copytree(PACKAGE_DIR, tmp_path / "prompts", ignore=shutil.ignore_patterns("*.py", "__pycache__")))
    for name, text in (templates or {}).items():
        (root / f"{name}{SUFFIX}").write_text(text)
    return root


@dataclass
class ScriptedProvider(Provider):
    """The pipeline provider with a given LLM in place of an OpenAI-compatible one."""

    model: Any = field(default=None, repr=False)

    def _build_model(self, voices, hooks=None):  # type: ignore[override]
        return self.model


@dataclass
class Chat:
    session: AgentSession
    ctl: SessionController
    events: list[tuple[str, Any]] = field(default_factory=list)  # user_state_changed, persona_changed
    errors: list[Any] = field(default_factory=list)  # the session's error events
    tool_calls: list[tuple[str, float]] = field(default_factory=list)  # (tool, clock when it reached the controller)

    async def say(self, text: str) -> Any:
        result = await self.session.run(user_input=text)
        await self.ctl.settle()
        return result

    @property
    def agent(self) -> Any:
        return self.session.current_agent

    def context_texts(self) -> list[str]:
        return [m.text_content for m in self.agent.chat_ctx.messages() if m.role in ("user", "assistant")]

    def history_texts(self) -> list[str]:
        return [m.text_content for m in self.session.history.messages() if m.role in ("user", "assistant")]


@asynccontextmanager
async def start_chat(
    model: llm.LLM | None = None,
    *,
    provider: Provider | None = None,
    persona: str = "assistant",
    away: AwayPolicy | None = None,
    library: prompts.PromptLibrary | None = None,
    user_away_timeout: float | None = None,
    greet: bool = False,
) -> AsyncIterator[Chat]:
    """``model``: a scripted LLM on the pipeline path; ``provider``: any provider;
    neither: the offline model."""
    if provider is None:
        provider = ScriptedProvider("pipeline", {}, model=model) if model else Provider("offline", {})
    live = build_session(
        provider, env={}, library=library or prompts.PromptLibrary(), persona=persona, away=away,
        vad=None, user_away_timeout=user_away_timeout, turn_handling={"turn_detection": "manual"},
    )  # fmt: skip
    session, ctl = live.session, live.controller
    c = Chat(session, ctl)
    session.on("user_state_changed", lambda ev: c.events.append(("user_state_changed", (ev.old_state, ev.new_state))))
    session.on("error", c.errors.append)
    ctl.on_persona_changed.append(lambda pid: c.events.append(("persona_changed", pid)))
    for name in ("switch_persona", "forget", "mark_away"):
        _time_entry(ctl, name, c.tool_calls)
    try:
        async with timeout(TIME_LIMIT):
            await live.start(greet=greet)
            yield c
            await ctl.settle()
    finally:
        await live.aclose()


def _time_entry(ctl: SessionController, name: str, log: list[tuple[str, float]]) -> None:
    method = getattr(ctl, name)

    async def timed(*args: Any, **kwargs: Any) -> Any:
        log.append((name, time.perf_counter()))
        return await method(*args, **kwargs)

    setattr(ctl, name, timed)

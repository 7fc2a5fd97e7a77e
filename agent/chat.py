"""``python -m agent chat``: a text conversation through a real AgentSession.

No room and no audio device: lines from stdin go to ``session.run``; what the
session says and does comes back on stdout, as text or (``--jsonl``) as one JSON
object a line. Lines starting with ``/`` are commands.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable
from typing import Any, TextIO

from livekit.agents import AgentSession, llm

import prompts

from . import privacy
from .session.control import SessionController
from .providers import Provider, choose_provider, load_env

COMMANDS = ("/context", "/history", "/persona", "/state", "/quit")


def describe_items(chat_ctx: llm.ChatContext) -> list[dict[str, str]]:
    """Role and text of each conversation item (instructions left out)."""
    out = []
    for item in chat_ctx.items:
        if item.type == "message" and item.role not in ("system", "developer"):
            out.append({"role": item.role, "text": item.text_content or ""})
        elif item.type == "function_call":
            out.append({"role": "function_call", "text": f"{item.name} {item.arguments}"})
        elif item.type == "function_call_output":
            out.append({"role": "function_call_output", "text": item.output})
    return out


class Printer:
    def __init__(self, out: TextIO, jsonl: bool, persona_name: Callable[[], str]) -> None:
        self.out, self.jsonl, self.persona_name = out, jsonl, persona_name

    def emit(self, type_: str, **fields: Any) -> None:
        if self.jsonl:
            self.out.write(json.dumps({"type": type_, **fields}, ensure_ascii=False) + "\n")
        elif not (type_ == "message" and fields["role"] == "user"):  # the user's own words: no echo
            self.out.write(self._as_text(type_, fields) + "\n")
        self.out.flush()

    def _as_text(self, type_: str, f: dict[str, Any]) -> str:
        if type_ == "message":
            return f"{self.persona_name()}: {f['text']}"
        if type_ == "function_call":
            return f"  [{f['name']} {json.dumps(f['arguments'])}]"
        if type_ == "function_call_output":
            return f"  [{'error' if f['is_error'] else 'result'}: {f['output']}]"
        if type_ == "persona_changed":
            return f"  [persona: {f['persona']}]"
        if type_ == "user_state_changed":
            return f"  [user: {f['old']} -> {f['new']}]"
        if type_ in ("context", "history"):
            return "\n".join(f"  {i['role']}: {i['text']}" for i in f["items"]) or "  (empty)"
        return "  " + ", ".join(f"{k}={v}" for k, v in f.items())


async def run_chat(
    *,
    persona: str | None = None,
    provider: str | None = None,
    jsonl: bool = False,
    stdin: TextIO = sys.stdin,
    stdout: TextIO = sys.stdout,
    env: dict[str, str] | None = None,
) -> int:
    env = dict(load_env() if env is None else env)
    privacy.install(env)  # LiveKit logs every line said at DEBUG
    env.setdefault("AGENT_MODALITIES", "text")  # no audio device: realtime models answer in text
    library = prompts.PromptLibrary(env.get("PROMPTS_DIR"))
    chosen = Provider(choose_provider(env, provider), env)
    ctl = SessionController(library, chosen, persona=persona or "assistant")
    printer = Printer(stdout, jsonl, lambda: library.persona(ctl.persona_id).name)
    session = AgentSession(vad=None, user_away_timeout=None, turn_handling={"turn_detection": "manual"})
    _wire_events(session, ctl, printer)
    ctl.attach(session)
    closed = asyncio.Event()
    session.on("close", lambda _: closed.set())
    first = ctl.first_agent()
    await session.start(first)
    await first.entered.wait()
    if first.entry_speech is not None:
        await first.entry_speech  # the greeting comes before the first answer
    loop = asyncio.get_running_loop()
    try:
        while not closed.is_set():
            line = await loop.run_in_executor(None, stdin.readline)
            if not line:
                break
            line = line.strip()
            if not line:
                continue
            if line.startswith("/"):
                if not _command(line, session, ctl, printer):
                    break
                continue
            try:
                await session.run(user_input=line)
            except Exception as e:  # a provider error ends the turn, not the chat
                printer.emit("error", message=str(e))
            await ctl.settle()
    finally:
        await ctl.settle()
        await session.aclose()
        await chosen.aclose()
    return 0


def _wire_events(session: AgentSession, ctl: SessionController, printer: Printer) -> None:
    def on_item(ev: Any) -> None:
        item = ev.item
        if item.type == "message" and item.role in ("user", "assistant") and item.text_content:
            printer.emit("message", role=item.role, text=item.text_content)

    def on_tools(ev: Any) -> None:
        for call, output in zip(ev.function_calls, ev.function_call_outputs):
            try:
                arguments = json.loads(call.arguments or "{}")
            except ValueError:
                arguments = call.arguments
            printer.emit("function_call", name=call.name, arguments=arguments)
            if output is not None:
                printer.emit("function_call_output", name=call.name, output=output.output, is_error=output.is_error)

    session.on("conversation_item_added", on_item)
    session.on("function_tools_executed", on_tools)
    session.on("user_state_changed", lambda ev: printer.emit("user_state_changed", old=ev.old_state, new=ev.new_state))
    ctl.on_persona_changed.append(lambda pid: printer.emit("persona_changed", persona=pid))


def _command(line: str, session: AgentSession, ctl: SessionController, printer: Printer) -> bool:
    """Run a slash command; False means quit."""
    name = line.split()[0].lower()
    if name == "/quit":
        return False
    if name == "/context":
        printer.emit("context", items=describe_items(session.current_agent.chat_ctx))
    elif name == "/history":
        printer.emit("history", items=describe_items(session.history))
    elif name == "/persona":
        printer.emit("persona", persona=ctl.persona_id, available=list(ctl.library.personas()))
    elif name == "/state":
        printer.emit(
            "state", persona=ctl.persona_id, provider=ctl.provider.name,
            user_state=session.user_state, agent_state=session.agent_state,
        )  # fmt: skip
    else:
        printer.emit("error", message=f"unknown command {name}; commands: {' '.join(COMMANDS)}")
    return True

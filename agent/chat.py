"""``python -m agent chat``: a text conversation through a real AgentSession.

No room and no audio device: lines from stdin go to ``session.run``; what the
session says and does comes back on stdout, as text or (``--jsonl``) as one JSON
object a line. Lines starting with ``/`` are commands.
"""

from __future__ import annotations

import asyncio
import json
import sys
import threading
from collections.abc import Callable
from typing import Any, TextIO

from livekit.agents import AgentSession, llm
from livekit.agents.llm import ToolError
from livekit.agents.voice.agent_activity import ActivityClosedError

import prompts

from . import privacy
from .session import aio, forgetting, lk_private
from .compose import build_session
from .session.away import AwayPolicy
from .session.control import SessionController
from .providers import ConfigError, Provider, check_config, choose_provider, describe_endpoint, load_env

COMMANDS = ("/context", "/history", "/persona [NAME]", "/state", "/quit")


def describe_items(chat_ctx: llm.ChatContext, *, instructions: bool = False) -> list[dict[str, str]]:
    """Role and text of each item; the instructions (role ``system``) only if asked."""
    out = []
    for item in chat_ctx.items:
        if item.type == "message" and item.role in ("system", "developer"):
            if instructions:
                out.append({"role": "system", "text": item.text_content or ""})
        elif item.type == "message":
            out.append({"role": item.role, "text": item.text_content or ""})
        elif item.type == "function_call":
            out.append({"role": "function_call", "text": f"{item.name} {item.arguments}"})
        elif item.type == "function_call_output":
            out.append({"role": "function_call_output", "text": item.output})
    return out


def describe_context(session: AgentSession, ctl: SessionController) -> list[dict[str, str]]:
    """What the model sees: the agent's instructions (a realtime model keeps them out of
    the context), then the context without anything forgotten."""
    agent = session.current_agent
    items = describe_items(forgetting.without(agent.chat_ctx, ctl.forgotten_ids), instructions=True)
    if not any(i["role"] == "system" for i in items) and isinstance(agent.instructions, str):
        items.insert(0, {"role": "system", "text": agent.instructions})
    return items


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
            return "\n".join(_as_block(i["role"], i["text"]) for i in f["items"]) or "  (empty)"
        if type_ == "persona":
            outcome = f" ({f['outcome']}{'; ' + ' '.join(f['notes']) if f.get('notes') else ''})" if "outcome" in f else ""
            return f"  persona: {f['persona']}{outcome}; available: {', '.join(f['available'])}"
        if type_ == "state":
            return (
                f"  persona: {f['persona']}, provider: {f['provider']}, "
                f"user: {f['user_state']}, agent: {f['agent_state']}"
            )  # fmt: skip
        if type_ == "error":
            return f"  error: {f['message']}"
        if type_ == "session_closed":
            why = f": {f['error']}" if f.get("error") else f" ({f['reason']})"
            return f"  [the session has ended{why}]"
        return "  " + ", ".join(f"{k}={v}" for k, v in f.items())


def _as_block(role: str, text: str) -> str:
    """``  role: text``, later lines of a long text indented under the first."""
    indent = " " * (len(role) + 4)
    return f"  {role}: " + text.replace("\n", "\n" + indent)


class LineReader:
    """Lines of a text stream, read on a daemon thread: a chat that ends (the session
    closed) never waits for the next line, nor does the process at exit."""

    def __init__(self, stream: TextIO) -> None:
        self._loop = asyncio.get_running_loop()
        self._lines: asyncio.Queue[str | None] = asyncio.Queue()
        threading.Thread(target=self._read, args=(stream,), name="chat-stdin", daemon=True).start()

    def _read(self, stream: TextIO) -> None:
        try:
            for line in iter(stream.readline, ""):
                self._loop.call_soon_threadsafe(self._lines.put_nowait, line)
        except (OSError, ValueError):  # closed under us
            pass
        finally:
            try:
                self._loop.call_soon_threadsafe(self._lines.put_nowait, None)
            except RuntimeError:  # the loop is gone: nobody is reading any more
                pass

    async def next(self, ended: asyncio.Event) -> str | None:
        """The next line; None at the end of input or once ``ended`` is set."""
        return await aio.first_of(self._lines.get(), ended)


class SessionEnd:
    """Set once the session ends on its own, with why: its "close" event, or an error
    after which it began to close (livekit 1.8.9 emits no "close" when the teardown
    itself fails, as after a realtime connection that never opened)."""

    def __init__(self, session: AgentSession) -> None:
        self.event = asyncio.Event()
        self.reason = ""
        self.error: str | None = None
        session.on("close", lambda ev: self._end(ev.reason.value, ev.error))
        session.on("error", lambda ev: asyncio.get_running_loop().call_soon(self._after_error, session, ev.error))

    def _after_error(self, session: AgentSession, error: Any) -> None:
        if lk_private.is_closing(session):  # the session decided to close on this error
            self._end("error", error)

    def _end(self, reason: str, error: Any) -> None:
        if not self.event.is_set():
            self.reason = reason
            self.error = None if error is None else str(getattr(error, "error", None) or error)
            self.event.set()


def start_up(
    env: dict[str, str], provider: str | None, persona: str | None, library: prompts.PromptLibrary, log: TextIO
) -> tuple[Provider, str]:
    """Check the provider's variables and the starting persona (``--persona``, else
    AGENT_PERSONA); say on ``log`` which provider and endpoint are used."""
    chosen = Provider(choose_provider(env, provider), env)
    check_config(chosen.name, env)
    source = "--persona" if persona else "AGENT_PERSONA"
    persona_id = persona or env.get("AGENT_PERSONA", "").strip() or "assistant"
    try:
        library.persona(persona_id)
    except prompts.PromptError as e:
        raise ConfigError(f"{source}: {e}") from None
    print(describe_endpoint(chosen.name, env), file=log, flush=True)
    return chosen, persona_id


async def run_chat(
    *,
    persona: str | None = None,
    provider: str | None = None,
    jsonl: bool = False,
    stdin: TextIO = sys.stdin,
    stdout: TextIO = sys.stdout,
    stderr: TextIO = sys.stderr,
    env: dict[str, str] | None = None,
    away: AwayPolicy | None = None,
) -> int:
    """0 at the end of input or /quit, or when the session ended without an error; 1
    when it ended with one."""
    env = dict(load_env() if env is None else env)
    env.setdefault("AGENT_MODALITIES", "text")  # no audio device: realtime models answer in text
    library = prompts.PromptLibrary(env.get("PROMPTS_DIR"))
    chosen, persona_id = start_up(env, provider, persona, library, stderr)
    chosen.import_plugin()
    # LiveKit logs every line said at DEBUG; the filter reaches the loggers that exist, the
    # provider plugin's included once it is imported
    privacy.install(env)
    live = build_session(
        chosen, env=env, library=library, persona=persona_id, away=away,
        vad=None, user_away_timeout=None, turn_handling={"turn_detection": "manual"},
    )  # fmt: skip
    session, ctl = live.session, live.controller
    printer = Printer(stdout, jsonl, lambda: library.persona(ctl.persona_id).name)
    print_events(session, ctl, printer)
    end = SessionEnd(session)
    ended = end.event
    lines = LineReader(stdin)
    try:
        first = await live.start()
        if await aio.first_of(first.entered.wait(), ended) and first.entry_speech is not None:
            await aio.first_of(first.entry_speech, ended)  # the greeting comes before the first answer
        await serve_lines(lines, session, ctl, printer, ended)
    finally:
        ending_itself = lk_private.is_closing(session)
        await live.aclose()
    if not (ending_itself and ended.is_set()):
        return 0
    printer.emit("session_closed", reason=end.reason, error=end.error)
    return 1 if end.error else 0


async def serve_lines(
    lines: LineReader, session: AgentSession, ctl: SessionController, printer: Printer, ended: asyncio.Event
) -> None:
    """Typed turns and slash commands, one line at a time, until the input ends, /quit,
    or the session ends (``ended``)."""
    while not ended.is_set():
        line = await lines.next(ended)
        if line is None or lk_private.is_closing(session):
            return
        line = line.strip()
        if not line:
            continue
        if line.startswith("/"):
            if not await run_command(line, session, ctl, printer, ended):
                return
            continue
        try:
            await session.run(user_input=line)
        except Exception as e:  # a provider error ends the turn, not the chat
            if not lk_private.is_closing(session):
                printer.emit("error", message=str(e))
        await ctl.settle()


def print_events(session: AgentSession, ctl: SessionController, printer: Printer) -> None:
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


async def run_command(line: str, session: AgentSession, ctl: SessionController, printer: Printer, ended: asyncio.Event) -> bool:
    """Run a slash command; False means quit. ``ended``: set when the session closed."""
    name, *args = line.split()
    name = name.lower()
    if name == "/persona" and args:
        await _switch_persona(" ".join(args), session, ctl, printer, ended)
    elif args:
        printer.emit("error", message=f"{name} takes no argument (got {' '.join(args)!r}); nothing done")
    elif name == "/quit":
        return False
    elif name == "/context":
        printer.emit("context", items=describe_context(session, ctl))
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
        printer.emit("error", message=f"unknown command {name}; commands: {', '.join(COMMANDS)}")
    return True


async def _switch_persona(
    wanted: str, session: AgentSession, ctl: SessionController, printer: Printer, ended: asyncio.Event
) -> None:
    """``/persona NAME``: the switch as a frontend asks for it (the tool's own core), its
    line said before the next line is read, and its outcome."""
    available = list(ctl.library.personas())
    persona = wanted.strip().lower()
    if persona not in available:
        printer.emit("error", message=f"unknown persona {wanted!r}; available: {', '.join(available)}; nothing changed")
        return
    try:
        outcome = await aio.first_of(ctl.request_switch_persona(persona), ended)
        if outcome is None:  # the session ended first
            return
        await aio.first_of(_idle(session), ended)  # the switch line, said by the new persona
    except ToolError as e:
        printer.emit("error", message=str(e))
        return
    printer.emit("persona", persona=ctl.persona_id, available=available, outcome=outcome.status, notes=list(outcome.notes))


async def _idle(session: AgentSession) -> None:
    try:
        await session.wait_for_idle()
    except ActivityClosedError:
        pass

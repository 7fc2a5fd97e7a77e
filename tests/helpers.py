"""The helpers tests share, in one plain module (fixtures stay in the conftest.py files,
where pytest finds them; nothing here is a fixture).

- ``until``: wait for a cheap, in-process condition.
- The chat's JSON lines: ``json_lines``, ``of_type``; the chat run in process
  (``chat_events``, ``chat_output``) or as a process of its own (``chat_process``,
  ``run_process``, ``process_env``).
- A RunResult's events: ``function_outputs``, ``spoken``, ``event_types``.
- What a session said and recorded: ``heard``, ``record_assistant``, ``recorded_events``.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from agent.chat import run_chat

ROOT = Path(__file__).parents[1]


async def until(
    cond: Callable[[], Any], *, timeout: float = 2.0, what: str = "condition", log: Iterable[Any] | None = None
) -> None:
    """Poll ``cond`` (cheap, in-process) until true; fail after ``timeout`` seconds (the limit
    only turns a hang into a failure). ``log``: what happened, one entry a line, for the
    failure message."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not cond():
        if loop.time() > deadline:
            message = f"{what} not met within {timeout}s"
            if log is not None:
                message += "; what happened:\n" + "\n".join(f"  {entry}" for entry in log)
            raise AssertionError(message)
        await asyncio.sleep(0.005)


# ------------------------------------------------------------------------------------------
# the chat's JSON lines (`python -m agent chat --jsonl`, agent/chat.py)
# ------------------------------------------------------------------------------------------


def json_lines(text: str) -> list[dict[str, Any]]:
    """One parsed object a line."""
    return [json.loads(line) for line in text.splitlines()]


def of_type(events: list[dict[str, Any]], type_: str) -> list[dict[str, Any]]:
    """The events whose ``type`` is ``type_``, in order."""
    return [e for e in events if e["type"] == type_]


async def chat_output(lines: list[str], *, timeout: float | None = None, **options: Any) -> tuple[list[dict[str, Any]], str]:
    """``run_chat`` in JSON lines, in process, fed ``lines``: the events it printed and what
    it wrote on stderr, once it returned 0. ``options`` go to ``run_chat`` (``env`` is empty
    unless given); ``timeout``, if given, only turns a hang into a failure."""
    out, err = io.StringIO(), io.StringIO()
    options.setdefault("env", {})
    stdin = io.StringIO("\n".join(lines) + "\n")
    code = await asyncio.wait_for(run_chat(jsonl=True, stdin=stdin, stdout=out, stderr=err, **options), timeout)
    assert code == 0
    return json_lines(out.getvalue()), err.getvalue()


async def chat_events(lines: list[str], *, timeout: float | None = None, **options: Any) -> list[dict[str, Any]]:
    """The events of ``chat_output``."""
    events, _ = await chat_output(lines, timeout=timeout, **options)
    return events


def process_env() -> dict[str, str]:
    """An environment for a process of the project's own: no keys, no .env.local values from
    the developer's machine; only what the test adds."""
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(ROOT), "PYTHONPATH": str(ROOT)}


async def run_process(*args: str, env: dict[str, str], input: str = "", timeout: float = 60.0) -> tuple[str, str]:
    """``args`` as a process in the repository root, fed ``input``: its stdout (decoded
    strictly as UTF-8) and stderr, once it exited with 0. Killed after ``timeout`` seconds."""
    proc = await asyncio.create_subprocess_exec(
        *args, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, cwd=ROOT, env=env,
    )  # fmt: skip
    try:
        out, err = await asyncio.wait_for(proc.communicate(input.encode()), timeout)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 0, err.decode()[-3000:]
    return out.decode("utf-8"), err.decode()


async def chat_process(
    provider: str, env: dict[str, str], lines: list[str], *, timeout: float = 60.0
) -> tuple[list[dict[str, Any]], str]:
    """``python -m agent chat --provider PROVIDER --jsonl`` as a process, fed ``lines``: its
    events and what it wrote on stderr."""
    out, err = await run_process(
        sys.executable, "-m", "agent", "chat", "--provider", provider, "--jsonl",
        env=env, input="\n".join(lines) + "\n", timeout=timeout,
    )  # fmt: skip
    return json_lines(out), err


# ------------------------------------------------------------------------------------------
# a RunResult (session.run) and what a session said
# ------------------------------------------------------------------------------------------


def function_outputs(result: Any, name: str | None = None) -> list[Any]:
    """The function call outputs of a RunResult, in order (only ``name``'s, if given)."""
    return [e.item for e in result.events if e.type == "function_call_output" and (name is None or e.item.name == name)]


def spoken(result: Any) -> list[str]:
    """The text of the assistant messages of a RunResult."""
    return [e.item.text_content for e in result.events if e.type == "message" and e.item.role == "assistant"]


def event_types(result: Any) -> list[str]:
    """The type of each event of a RunResult."""
    return [e.type for e in result.events]


def heard(chat: Any) -> list[str]:
    """What the agent said in a chat (tests/harness.py), as the session's history has it."""
    return [m.text_content for m in chat.session.history.messages() if m.role == "assistant"]


def record_assistant(chat: Any) -> list[str]:
    """A list that receives the text of every assistant message the session adds from now on."""
    said: list[str] = []
    chat.session.on(
        "conversation_item_added",
        lambda ev: getattr(ev.item, "role", None) == "assistant" and said.append(ev.item.text_content or ""),
    )
    return said


def recorded_events(session: Any) -> str:
    """Every event the session recorded (what its report holds), as one string to search."""
    return repr([e.model_dump() for e in session._recorded_events])


def barge_in_once(chat: Any, change: str) -> None:
    """The user talks over the agent the moment the controller's ``change`` (a tool's entry
    point: ``switch_persona``, ``forget``) next returns, so livekit drops the hand-off it
    returned; later calls run undisturbed."""
    method = getattr(chat.ctl, change)

    async def barged_in(*args: Any, **kwargs: Any) -> Any:
        setattr(chat.ctl, change, method)
        outcome = await method(*args, **kwargs)
        chat.session.interrupt(force=True)
        return outcome

    setattr(chat.ctl, change, barged_in)

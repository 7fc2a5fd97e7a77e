"""`python -m agent chat --jsonl`: the offline chat's public output contract."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

from agent.chat import run_chat

ROOT = Path(__file__).parents[2]


async def _chat(lines: list[str], **kwargs) -> list[dict]:
    out = io.StringIO()
    code = await run_chat(jsonl=True, stdin=io.StringIO("\n".join(lines) + "\n"), stdout=out, env={}, **kwargs)
    assert code == 0
    return [json.loads(line) for line in out.getvalue().splitlines()]


def _of(events: list[dict], type_: str) -> list[dict]:
    return [e for e in events if e["type"] == type_]


async def test_every_line_is_one_typed_json_object() -> None:
    events = await _chat(["hello", "can I talk to the pirate?", "brb", "I'm back", "forget what I just said", "/context"])
    assert {e["type"] for e in events} <= {
        "message", "function_call", "function_call_output", "persona_changed", "user_state_changed", "context",
    }  # fmt: skip
    assert [c["name"] for c in _of(events, "function_call")] == ["switch_persona", "mark_user_away", "forget_conversation"]
    assert _of(events, "function_call")[0]["arguments"] == {"persona": "pirate"}
    assert _of(events, "persona_changed") == [{"type": "persona_changed", "persona": "pirate"}]
    assert [(e["old"], e["new"]) for e in _of(events, "user_state_changed")] == [("listening", "away"), ("away", "listening")]
    assert all(set(o) == {"type", "name", "output", "is_error"} for o in _of(events, "function_call_output"))
    (context,) = _of(events, "context")
    texts = [i["text"] for i in context["items"]]
    assert "hello" in texts and "I'm back" not in texts  # the last turn was forgotten
    assert all(set(i) == {"role", "text"} for i in context["items"])


async def test_starting_persona_and_commands() -> None:
    events = await _chat(["/persona", "/state", "/nonsense", "/quit", "never read"], persona="tutor")
    assert events[0]["type"] == "message" and events[0]["role"] == "assistant"  # the tutor's greeting
    assert _of(events, "persona")[0]["persona"] == "tutor"
    assert _of(events, "state")[0]["user_state"] == "listening"
    assert "unknown command" in _of(events, "error")[0]["message"]
    assert not [e for e in events if e.get("text") == "never read"]


def test_the_command_line_runs_offline_with_no_keys() -> None:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-m", "agent", "chat", "--jsonl", "--persona", "pirate"],
        input="forget everything\n", capture_output=True, text=True, cwd=ROOT, env=env, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    assert _of(events, "function_call")[0] == {"type": "function_call", "name": "forget_conversation", "arguments": {"scope": "everything"}}


def test_an_unknown_persona_is_a_clear_error() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "agent", "chat", "--persona", "wizard"],
        input="", capture_output=True, text=True, cwd=ROOT, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 2
    assert "wizard" in proc.stderr and "pirate" in proc.stderr


def test_the_offline_chat_imports_no_provider_plugin() -> None:
    code = (
        "import sys, agent.chat, agent.providers as p;"
        "p.Provider('offline', {}).behaviour;"
        "print(sorted(m for m in sys.modules if m.startswith('livekit.plugins')))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"

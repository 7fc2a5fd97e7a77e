"""`python -m agent chat --jsonl`: the offline chat's public output contract."""

from __future__ import annotations

import asyncio
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

import prompts
from agent.chat import run_chat
from agent.providers import ConfigError
from agent.session.away import AwayPolicy
from tests.helpers import chat_events, chat_output, json_lines, of_type

ROOT = Path(__file__).parents[2]
HANG_LIMIT = 10.0  # only turns a hang into a failure


async def test_every_line_is_one_typed_json_object() -> None:
    events = await chat_events(["hello", "can I talk to the pirate?", "brb", "I'm back", "forget what I just said", "/context"])
    assert {e["type"] for e in events} <= {
        "message", "function_call", "function_call_output", "persona_changed", "user_state_changed", "context",
    }  # fmt: skip
    assert [c["name"] for c in of_type(events, "function_call")] == ["switch_persona", "mark_user_away", "forget_conversation"]
    assert of_type(events, "function_call")[0]["arguments"] == {"persona": "pirate"}
    assert of_type(events, "persona_changed") == [{"type": "persona_changed", "persona": "pirate"}]
    assert [(e["old"], e["new"]) for e in of_type(events, "user_state_changed")] == [("listening", "away"), ("away", "listening")]
    assert all(set(o) == {"type", "name", "output", "is_error"} for o in of_type(events, "function_call_output"))
    (context,) = of_type(events, "context")
    texts = [i["text"] for i in context["items"]]
    assert "hello" in texts and "I'm back" not in texts  # the last turn was forgotten
    assert all(set(i) == {"role", "text"} for i in context["items"])


async def test_starting_persona_and_commands() -> None:
    events = await chat_events(["/persona", "/state", "/nonsense", "/quit", "never read"], persona="tutor")
    assert events[0]["type"] == "message" and events[0]["role"] == "assistant"  # the tutor's greeting
    assert of_type(events, "persona")[0]["persona"] == "tutor"
    assert of_type(events, "state")[0]["user_state"] == "listening"
    assert "unknown command" in of_type(events, "error")[0]["message"]
    assert not [e for e in events if e.get("text") == "never read"]


def test_the_command_line_runs_offline_with_no_keys() -> None:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-m", "agent", "chat", "--jsonl", "--persona", "pirate"],
        input="forget everything\n", capture_output=True, text=True, cwd=ROOT, env=env, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    events = json_lines(proc.stdout)
    assert of_type(events, "function_call")[0] == {"type": "function_call", "name": "forget_conversation", "arguments": {"scope": "everything"}}


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
        "p.Provider('offline', {}).changeable;"
        "print(sorted(m for m in sys.modules if m.startswith('livekit.plugins')))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


# ------------------------------------------------------------------------------------------
# start-up: configuration mistakes are one line and exit code 2
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("provider", "variable"), [("openai", "OPENAI_API_KEY"), ("google", "GOOGLE_API_KEY"), ("pipeline", "LLM_BASE_URL")])
async def test_a_provider_without_its_variable_is_refused_before_connecting(provider: str, variable: str) -> None:
    with pytest.raises(ConfigError, match=variable):
        await chat_events([], provider=provider)


def test_a_missing_key_is_one_line_and_exit_code_2() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "agent", "chat", "--provider", "openai"],
        input="hello\n", capture_output=True, text=True, cwd=ROOT, env=_clean_env(), timeout=60,
    )  # fmt: skip
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == ["error: the openai provider needs OPENAI_API_KEY (an OpenAI API key); set it in the environment or .env.local"]


async def test_the_starting_persona_comes_from_agent_persona() -> None:
    events = await chat_events(["/persona"], env={"AGENT_PERSONA": "pirate"})
    assert events[0] == {"type": "message", "role": "assistant", "text": prompts.PromptLibrary().persona("pirate").greeting}
    assert of_type(events, "persona")[0]["persona"] == "pirate"
    # --persona still wins over it
    events = await chat_events(["/persona"], env={"AGENT_PERSONA": "pirate"}, persona="tutor")
    assert of_type(events, "persona")[0]["persona"] == "tutor"


async def test_a_bad_agent_persona_names_the_variable() -> None:
    with pytest.raises(ConfigError, match=r"AGENT_PERSONA: unknown persona 'wizard'; available: assistant, pirate, tutor"):
        await chat_events([], env={"AGENT_PERSONA": "wizard"})


async def test_the_start_up_line_says_provider_and_host_on_stderr() -> None:
    _, err = await chat_output([])
    assert err == "provider offline: the built-in model, no network\n"


# ------------------------------------------------------------------------------------------
# input that is not UTF-8
# ------------------------------------------------------------------------------------------


def test_bytes_that_are_not_utf8_lose_nothing_and_the_output_stays_utf8() -> None:
    # a UTF-8 locale decodes strictly: the bad line used to end the chat with a traceback
    # (a C locale passed the bytes through as surrogates, out again as invalid UTF-8)
    proc = subprocess.run(
        [sys.executable, "-m", "agent", "chat", "--jsonl"],
        input=b"hello\n\xff\xfe\x00bad \xc3(\ncan I talk to the pirate?\n/state\n",
        capture_output=True, cwd=ROOT, env=_clean_env() | {"PYTHONIOENCODING": "utf-8"}, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")[-2000:]
    events = json_lines(proc.stdout.decode("utf-8"))  # strict: valid UTF-8
    said = [e["text"] for e in of_type(events, "message") if e["role"] == "user"]
    assert said == ["hello", "\ufffd\ufffd\x00bad \ufffd(", "can I talk to the pirate?"]
    assert of_type(events, "state")[0]["persona"] == "pirate"  # the lines after the bad one were all read


# ------------------------------------------------------------------------------------------
# the session ending on its own
# ------------------------------------------------------------------------------------------

FAST_GOODBYE = AwayPolicy(default_hold_minutes=1, goodbye_after_minutes=1, seconds_per_minute=0.1)


async def test_the_chat_says_the_session_ended_and_exits_without_waiting_for_input() -> None:
    out = io.StringIO()
    read_end, write_end = os.pipe()
    stdin = open(read_end, encoding="utf-8")  # noqa: SIM115  (closed below)
    try:
        os.write(write_end, b"brb\n")  # then nothing more, and no end of input
        code = await asyncio.wait_for(
            run_chat(jsonl=True, stdin=stdin, stdout=out, env={}, away=FAST_GOODBYE), HANG_LIMIT
        )
        os.write(write_end, b"/state\n")  # too late: the chat is over
    finally:
        os.close(write_end)
    events = json_lines(out.getvalue())
    assert code == 0
    assert events[-1] == {"type": "session_closed", "reason": "user_initiated", "error": None}
    goodbye = prompts.PromptLibrary().render("lines/away_goodbye", **prompts.standard_variables(prompts.PromptLibrary().persona("assistant")))
    assert events[-2] == {"type": "message", "role": "assistant", "text": goodbye}
    assert not of_type(events, "state")


async def test_the_session_ending_reads_as_a_line_in_text_mode() -> None:
    out = io.StringIO()
    read_end, write_end = os.pipe()
    stdin = open(read_end, encoding="utf-8")  # noqa: SIM115
    try:
        os.write(write_end, b"brb\n")
        await asyncio.wait_for(run_chat(stdin=stdin, stdout=out, env={}, away=FAST_GOODBYE), HANG_LIMIT)
    finally:
        os.close(write_end)
    assert out.getvalue().splitlines()[-1] == "  [the session has ended (user_initiated)]"


# ------------------------------------------------------------------------------------------
# the chat's commands
# ------------------------------------------------------------------------------------------


async def test_context_shows_the_instructions_the_model_sees_and_history_does_not() -> None:
    events = await chat_events(["/context", "can I talk to the pirate?", "/context", "/history"])
    before, after = of_type(events, "context")
    library = prompts.PromptLibrary()
    assert before["items"][0]["role"] == "system" and before["items"][0]["text"].startswith("You are Alex")
    assert [i for i in after["items"] if i["role"] == "system"] == [after["items"][0]]  # one set of instructions
    assert after["items"][0]["text"].startswith("You are Captain Reed")
    assert library.persona("pirate").greeting not in after["items"][0]["text"]
    (history,) = of_type(events, "history")
    assert {i["role"] for i in history["items"]} <= {"user", "assistant", "function_call", "function_call_output"}
    assert {"role": "user", "text": "can I talk to the pirate?"} in history["items"]


async def test_persona_name_switches_through_the_controller_with_its_outcome() -> None:
    events = await chat_events(["/persona pirate", "/persona Pirate", "/state"])
    assert of_type(events, "persona_changed") == [{"type": "persona_changed", "persona": "pirate"}]
    switched, unchanged = of_type(events, "persona")
    assert (switched["persona"], switched["outcome"]) == ("pirate", "switched")
    assert (unchanged["persona"], unchanged["outcome"]) == ("pirate", "unchanged")
    # the switch line, said by the pirate, as the tool would have had it said
    assert any(e["type"] == "message" and e["text"].startswith("Ahoy! Captain Reed here") for e in events)
    assert of_type(events, "state")[0]["persona"] == "pirate"
    assert not of_type(events, "function_call")  # no model involved: the command, not a tool call


async def test_a_command_argument_is_never_ignored() -> None:
    events = await chat_events(["/persona wizard", "/state", "/history everything", "/quit now", "/persona"])
    unknown, history_arg, quit_arg = of_type(events, "error")
    assert unknown["message"] == "unknown persona 'wizard'; available: assistant, pirate, tutor; nothing changed"
    assert "/history takes no argument" in history_arg["message"] and "/quit takes no argument" in quit_arg["message"]
    assert not of_type(events, "history") and not of_type(events, "persona_changed")
    assert of_type(events, "persona")[0]["persona"] == "assistant"  # /quit now did not quit; nothing switched


async def test_text_mode_prints_commands_readably() -> None:
    out = io.StringIO()
    lines = ["/persona", "/state", "/persona pirate", "/context", "/nonsense"]
    await run_chat(stdin=io.StringIO("\n".join(lines) + "\n"), stdout=out, env={})
    text = out.getvalue()
    assert "=" not in text.replace("==", "")  # no raw key=value
    assert "  persona: assistant; available: assistant, pirate, tutor\n" in text
    assert "  persona: assistant, provider: offline, user: listening, agent: listening\n" in text
    assert "  persona: pirate (switched); available: assistant, pirate, tutor\n" in text
    assert "\n  system: You are Captain Reed" in text
    assert "  error: unknown command /nonsense" in text


def _clean_env() -> dict[str, str]:
    # no keys and no .env.local values from the developer's machine
    return {"PATH": "/usr/bin:/bin", "HOME": str(ROOT)}

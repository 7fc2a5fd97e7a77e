"""The command line on the realtime providers, as separate processes against the fakes.

``python -m agent chat --provider openai|google --jsonl`` runs with only environment values
pointing it at a loopback fake (OPENAI_BASE_URL; GOOGLE_BASE_URL plus SSL_CERT_FILE, since
agent/providers.py has no other TLS hook), is fed lines on stdin, and its JSON lines and the
fake's wire record are checked. ``python -m agent start`` is run against a loopback stand-in
for the LiveKit server's agent endpoint, up to the worker's registration.

Each test starts a Python process that imports livekit-agents and a plugin: about 3 s (the
worker about 5 s), which is start-up cost, not the code under test.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import livekit.plugins.google  # noqa: F401  (imported at collection, not inside a test)
import livekit.plugins.openai  # noqa: F401
import pytest
from livekit.agents import AgentServer

import prompts
from agent import worker
from agent.providers import ConfigError
from agent.worker import ATTR_PERSONA, ATTR_USER_STATE, session_attributes

from tests.helpers import ROOT, chat_process, of_type, process_env

from .support import controlled_session, expected_instructions
from .google.fake_gemini import FakeGeminiLive
from .inference.fixtures import API_SECRET, inference_env
from .openai.fake_openai import FakeOpenAIRealtime
from .openai.fixtures import openai_env

PROCESS_TIMEOUT = 60.0
RECONNECT = "after a short reconnect"
GREETING = "Hi, I'm Alex. How can I help?"
PIRATE_LINE = "Ahoy! Captain Reed here."
OLD_SESSION_REPLY = "(the old session answering its tool response)"


def _conversation(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The lines the contract is about (Gemini also reports user_state_changed noise)."""
    return [e for e in events if e["type"] != "user_state_changed"]




async def test_chat_on_openai_switches_persona_in_place(fake_openai: FakeOpenAIRealtime) -> None:
    env = process_env() | {"OPENAI_API_KEY": fake_openai.api_key, "OPENAI_BASE_URL": fake_openai.base_url}
    fake_openai.queue_text(GREETING)
    fake_openai.queue_function_call("switch_persona", {"persona": "pirate"})
    fake_openai.queue_text(PIRATE_LINE)

    events, err = await chat_process("openai", env, ["can I talk to the pirate?", "/context"], timeout=PROCESS_TIMEOUT)

    assert [(e["type"], e.get("role") or e.get("name") or e.get("persona")) for e in _conversation(events)] == [
        ("message", "assistant"),
        ("message", "user"),
        ("persona_changed", "pirate"),  # confirmed by the provider, before livekit reports the call
        ("function_call", "switch_persona"),
        ("function_call_output", "switch_persona"),
        ("message", "assistant"),
        ("context", None),
    ]
    assert of_type(events, "message")[0]["text"] == GREETING
    assert of_type(events, "function_call") == [
        {"type": "function_call", "name": "switch_persona", "arguments": {"persona": "pirate"}}
    ]
    (output,) = of_type(events, "function_call_output")
    assert not output["is_error"] and output["output"].startswith("Switched: you are now Captain Reed.")
    assert RECONNECT not in output["output"]  # text output: applied in place
    assert of_type(events, "message")[-1] == {"type": "message", "role": "assistant", "text": PIRATE_LINE}
    (context,) = of_type(events, "context")
    assert {"role": "user", "text": "can I talk to the pirate?"} in context["items"]

    # on the wire: one connection, text only, the pirate's instructions and voice in place
    (conn,) = fake_openai.connections
    assert conn.events("session.update")[0]["session"]["output_modalities"] == ["text"]
    assert conn.instructions == expected_instructions("openai", "pirate")
    assert conn.voice == prompts.PromptLibrary().persona("pirate").voices["openai"]
    assert fake_openai.sent_events("error") == []
    # where it went, said at start: the redirect from the environment, and never the key
    assert err.splitlines()[0] == f"provider openai: at 127.0.0.1:{fake_openai.port} (from OPENAI_BASE_URL)"
    assert fake_openai.api_key not in err


async def test_chat_on_gemini_switches_persona_with_one_reconnect(
    fake_gemini: FakeGeminiLive,
) -> None:
    assert fake_gemini.ca_file
    env = process_env() | {
        "GOOGLE_API_KEY": fake_gemini.api_key,
        "GOOGLE_BASE_URL": fake_gemini.base_url,
        "SSL_CERT_FILE": fake_gemini.ca_file,  # the only way to make google-genai trust the fake
    }
    fake_gemini.queue_text(GREETING)
    fake_gemini.queue_function_call("switch_persona", {"persona": "pirate"})
    fake_gemini.queue_text(OLD_SESSION_REPLY)  # Gemini answers the tool response anyway
    fake_gemini.queue_text(PIRATE_LINE)

    events, err = await chat_process("google", env, ["can I talk to the pirate?", "/context"], timeout=PROCESS_TIMEOUT)

    assert [(e["type"], e.get("role") or e.get("name") or e.get("persona")) for e in _conversation(events)] == [
        ("message", "assistant"),
        ("message", "user"),
        ("function_call", "switch_persona"),
        ("function_call_output", "switch_persona"),
        ("persona_changed", "pirate"),  # once the fresh session really took over
        ("message", "assistant"),
        ("context", None),
    ]
    assert of_type(events, "function_call")[0]["arguments"] == {"persona": "pirate"}
    (output,) = of_type(events, "function_call_output")
    assert not output["is_error"] and RECONNECT in output["output"]  # honest: it reconnects
    assert of_type(events, "message")[-1]["text"] == PIRATE_LINE  # said by the new session
    assert OLD_SESSION_REPLY not in json.dumps(events)  # the old session was not heard
    (context,) = of_type(events, "context")
    assert {"role": "user", "text": "can I talk to the pirate?"} in context["items"]

    # on the wire: exactly one reconnect, to a fresh pirate session carrying the turns
    assert len(fake_gemini.connections) == 2
    first, second = fake_gemini.connections
    assert first.system_instruction == expected_instructions("google", "assistant")
    assert second.system_instruction == expected_instructions("google", "pirate")
    assert second.voice == prompts.PromptLibrary().persona("pirate").voices["google"]
    assert second.resumption_handle is None
    assert ("user", "can I talk to the pirate?") in second.turns()
    assert err.splitlines()[0] == f"provider google: at 127.0.0.1:{fake_gemini.port} (from GOOGLE_BASE_URL)"
    assert fake_gemini.api_key not in err


async def test_chat_on_inference_names_the_gateway_and_answers(fake_openai: FakeOpenAIRealtime) -> None:
    fake_openai.queue_text(GREETING)
    fake_openai.queue_text("Hello through the gateway.")

    events, err = await chat_process("inference", process_env() | inference_env(fake_openai), ["hello"], timeout=PROCESS_TIMEOUT)

    assert [e["text"] for e in of_type(events, "message")] == [GREETING, "hello", "Hello through the gateway."]
    assert fake_openai.last.query["model"] == ["openai/gpt-realtime"]
    assert err.splitlines()[0] == f"provider inference: at 127.0.0.1:{fake_openai.port} (from LIVEKIT_INFERENCE_URL)"
    assert API_SECRET not in err


@pytest.mark.parametrize(
    ("env", "line"),
    [
        ({"LIVEKIT_API_SECRET": "s"}, "error: the inference provider needs LIVEKIT_API_KEY (your LiveKit Cloud project's API key); set it in the environment or .env.local"),
        (
            {"LIVEKIT_API_KEY": "k", "LIVEKIT_API_SECRET": "s", "INFERENCE_MODEL": "google/gemini-3.8-live"},
            "error: INFERENCE_MODEL=google/gemini-3.8-live: only openai/* models are supported by the inference provider so far",
        ),
    ],
)
def test_chat_on_inference_refuses_in_one_line_with_exit_code_2(env: dict[str, str], line: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "agent", "chat", "--provider", "inference"], input="hello\n",
        capture_output=True, text=True, cwd=ROOT, env=process_env() | env, timeout=PROCESS_TIMEOUT,
    )  # fmt: skip
    assert (proc.returncode, proc.stderr.splitlines()) == (2, [line])


async def test_jsonl_is_utf8_whatever_the_provider_sends(fake_openai: FakeOpenAIRealtime) -> None:
    """A lone surrogate is valid in JSON ("\\ud800") and reaches the text as is; written out
    under a C locale it used to end the chat (UnicodeEncodeError)."""
    env = process_env() | {"OPENAI_API_KEY": fake_openai.api_key, "OPENAI_BASE_URL": fake_openai.base_url, "LC_ALL": "C"}
    fake_openai.queue_text("Hi \ud800 there")
    fake_openai.queue_text("still here")

    events, _ = await chat_process("openai", env, ["hello"], timeout=PROCESS_TIMEOUT)  # decodes the output strictly as UTF-8

    assert [e["text"] for e in events if e["type"] == "message"] == ["Hi ? there", "hello", "still here"]


# ------------------------------------------------------------------------------------------
# the worker
# ------------------------------------------------------------------------------------------


class FakeLiveKitAgentEndpoint:
    """Just enough of a LiveKit server's ``/agent`` WebSocket for a worker to register."""

    def __init__(self) -> None:
        self.messages: asyncio.Queue[Any] = asyncio.Queue()
        self.paths: list[str] = []
        self.auth: list[str] = []

    async def handler(self, ws: Any) -> None:
        from livekit.protocol import agent, models

        self.paths.append(ws.request.path)
        self.auth.append(ws.request.headers.get("Authorization", ""))
        async for raw in ws:
            msg = agent.WorkerMessage()
            msg.ParseFromString(raw)
            await self.messages.put(msg)
            if msg.HasField("register"):
                reply = agent.ServerMessage(
                    register=agent.RegisterWorkerResponse(
                        worker_id="AW_fake", server_info=models.ServerInfo(version="1.9.0")
                    )
                )
                await ws.send(reply.SerializeToString())


async def test_worker_starts_and_registers_with_a_livekit_endpoint(tmp_path: Path) -> None:
    from websockets.asyncio.server import serve

    endpoint = FakeLiveKitAgentEndpoint()
    async with serve(endpoint.handler, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        # the LiveKit settings from .env.local, as .env.example says (livekit's own CLI
        # reads only the environment); a free health-check port and no warm job processes,
        # so that concurrent runs do not collide on livekit's fixed port 8081
        (tmp_path / ".env.local").write_text(
            f"LIVEKIT_URL=ws://127.0.0.1:{port}\nLIVEKIT_API_KEY=devkey\n"
            "LIVEKIT_API_SECRET=loopback-secret-loopback-secret-0\nAGENT_HTTP_PORT=0\nAGENT_IDLE_PROCESSES=0\n"
        )
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "agent", "start", cwd=tmp_path, env=process_env(),
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
            start_new_session=True,  # any job process shares its group: ended together below
        )  # fmt: skip
        try:
            register = await _unless_it_exits(proc, endpoint.messages.get())
            status = await _unless_it_exits(proc, endpoint.messages.get())
            proc.send_signal(signal.SIGTERM)
            _, err = await asyncio.wait_for(proc.communicate(), PROCESS_TIMEOUT)
        finally:
            if proc.returncode is None:
                os.killpg(proc.pid, signal.SIGKILL)
                await proc.wait()

    assert endpoint.paths[0].startswith("/agent")
    assert endpoint.auth[0].startswith("Bearer ")
    assert register.HasField("register") and register.register.version == "1.8.9"
    assert register.register.allowed_permissions.agent
    assert status.HasField("update_worker")
    assert proc.returncode == 0
    assert err.decode().splitlines()[0] == f"provider offline: the built-in model, no network; LiveKit at 127.0.0.1:{port}"


async def _unless_it_exits(proc: asyncio.subprocess.Process, aw: Any) -> Any:
    """``aw``'s result; a worker that exits first fails the test at once, with its stderr."""
    task, exited = asyncio.ensure_future(aw), asyncio.ensure_future(proc.wait())
    await asyncio.wait({task, exited}, timeout=PROCESS_TIMEOUT, return_when=asyncio.FIRST_COMPLETED)
    if not task.done():
        task.cancel()
        err = (await proc.stderr.read()).decode() if exited.done() and proc.stderr else ""
        pytest.fail(f"the worker exited ({proc.returncode}) before registering:\n{err[-3000:]}" if exited.done() else "no registration")
    exited.cancel()
    return task.result()


def test_a_worker_without_livekit_settings_is_one_line_and_exit_code_2(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "agent", "start"], cwd=tmp_path, env=process_env(),
        capture_output=True, text=True, timeout=PROCESS_TIMEOUT,
    )  # fmt: skip
    assert proc.returncode == 2
    (line,) = proc.stderr.splitlines()
    assert line.startswith("error: `start` connects to a LiveKit server and needs LIVEKIT_URL, LIVEKIT_API_KEY, LIVEKIT_API_SECRET")


def test_a_worker_that_stops_with_an_error_exits_non_zero(tmp_path: Path) -> None:
    """livekit's CLI logs "worker failed" and exits 0; here its health-check port is taken."""
    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))
        taken.listen()
        env = process_env() | {
            "LIVEKIT_URL": "ws://127.0.0.1:9", "LIVEKIT_API_KEY": "devkey",
            "LIVEKIT_API_SECRET": "loopback-secret-loopback-secret-0",
            "AGENT_HTTP_PORT": str(taken.getsockname()[1]), "AGENT_IDLE_PROCESSES": "0",
        }  # fmt: skip
        proc = subprocess.run(
            [sys.executable, "-m", "agent", "start"], cwd=tmp_path, env=env,
            capture_output=True, text=True, timeout=PROCESS_TIMEOUT, start_new_session=True,
        )  # fmt: skip
    assert proc.returncode == 1
    assert proc.stderr.splitlines()[-1].startswith("error: the worker stopped:")
    assert "address already in use" in proc.stderr.splitlines()[-1]


def test_start_up_checks_refuse_in_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    livekit = {"LIVEKIT_URL": "wss://example.livekit.cloud", "LIVEKIT_API_KEY": "k", "LIVEKIT_API_SECRET": "s"}
    with pytest.raises(ConfigError, match="the openai provider needs OPENAI_API_KEY"):
        worker.check_start_up(["start"], livekit | {"AGENT_PROVIDER": "openai"})
    with pytest.raises(ConfigError, match="AGENT_PERSONA: unknown persona 'wizard'; available: assistant, pirate, tutor"):
        worker.check_start_up(["start"], livekit | {"AGENT_PERSONA": "wizard"})
    with pytest.raises(ConfigError, match="needs LIVEKIT_API_SECRET;"):
        worker.check_start_up(["dev"], {"LIVEKIT_URL": "ws://localhost:7880", "LIVEKIT_API_KEY": "devkey"})
    # given as livekit's own flags instead, or only asking for help: nothing missing
    assert worker.check_start_up(["start", "--url", "ws://h:7880", "--api-key=k", "--api-secret", "s"], {})
    assert worker.check_start_up(["start", "--help"], {})
    assert worker.check_start_up(["start"], livekit | {"OPENAI_API_KEY": "sk-secret"}) == (
        "provider openai: at api.openai.com; LiveKit at example.livekit.cloud"
    )
    # LiveKit Inference only by name: the LiveKit credentials of every worker do not choose it
    assert worker.check_start_up(["start"], livekit).startswith("provider offline:")
    assert worker.check_start_up(["start"], livekit | {"AGENT_PROVIDER": "inference"}) == (
        "provider inference: at agent-gateway.livekit.cloud; LiveKit at example.livekit.cloud"
    )
    with pytest.raises(ConfigError, match=r"INFERENCE_MODEL=xai/grok-voice-3.0: only openai/\* models are supported"):
        worker.check_start_up(["start"], livekit | {"AGENT_PROVIDER": "inference", "INFERENCE_MODEL": "xai/grok-voice-3.0"})
    # console: livekit imports sounddevice, which fails without the PortAudio library
    (tmp_path / "sounddevice.py").write_text("raise OSError('PortAudio library not found')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "sounddevice", raising=False)
    with pytest.raises(ConfigError, match="`console` needs the PortAudio library, even with --text"):
        worker.check_start_up(["console", "--text"], {})


def test_worker_entrypoint_is_the_rtc_session() -> None:
    """The entrypoint is what the worker runs for a job (it runs against a stand-in room in
    tests/conversation/test_frontend.py and tests/wire/test_frontend_realtime.py)."""
    assert isinstance(worker.server, AgentServer)
    assert worker.server._entrypoint_fnc is worker.entrypoint  # private: registered by rtc_session()


async def test_worker_attributes_follow_a_realtime_hand_off(fake_openai: FakeOpenAIRealtime) -> None:
    """The attributes the worker publishes read the controller, so they survive a hand-off."""
    async with controlled_session("openai", openai_env(fake_openai)) as c:
        await c.say("hi")  # audio: the switch below hands off to a new session
        fake_openai.queue_function_call("switch_persona", {"persona": "pirate"})
        await c.say("can I talk to the pirate?")
        assert len(fake_openai.connections) == 2
        attributes = session_attributes(c.ctl, c.session)
        assert (attributes[ATTR_PERSONA], attributes[ATTR_USER_STATE]) == ("pirate", "listening")

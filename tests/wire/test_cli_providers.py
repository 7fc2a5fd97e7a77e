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
import sys
from pathlib import Path
from typing import Any

import livekit.plugins.google  # noqa: F401  (imported at collection, not inside a test)
import livekit.plugins.openai  # noqa: F401
from livekit.agents import AgentServer

import prompts
from agent import worker
from agent.session.control import SessionController
from agent.providers import Provider
from agent.worker import ATTR_PERSONA, ATTR_USER_STATE, session_attributes

from .conftest import controlled_session, expected_instructions, openai_env
from .fake_gemini import FakeGeminiLive
from .fake_openai import FakeOpenAIRealtime

ROOT = Path(__file__).parents[2]
PROCESS_TIMEOUT = 60.0
RECONNECT = "after a short reconnect"
GREETING = "Hi, I'm Alex. How can I help?"
PIRATE_LINE = "Ahoy! Captain Reed here."
OLD_SESSION_REPLY = "(the old session answering its tool response)"


def _base_env() -> dict[str, str]:
    # no keys, no .env.local values from the developer's machine: only what the test gives
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(ROOT), "PYTHONPATH": str(ROOT)}


async def _chat(provider: str, env: dict[str, str], lines: list[str]) -> list[dict[str, Any]]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "agent", "chat", "--provider", provider, "--jsonl",
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, cwd=ROOT, env=env,
    )  # fmt: skip
    try:
        out, err = await asyncio.wait_for(
            proc.communicate(("\n".join(lines) + "\n").encode()), PROCESS_TIMEOUT
        )
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 0, err.decode()[-3000:]
    return [json.loads(line) for line in out.decode().splitlines()]


def _of(events: list[dict[str, Any]], type_: str) -> list[dict[str, Any]]:
    return [e for e in events if e["type"] == type_]


def _conversation(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The lines the contract is about (Gemini also reports user_state_changed noise)."""
    return [e for e in events if e["type"] != "user_state_changed"]




async def test_chat_on_openai_switches_persona_in_place(fake_openai: FakeOpenAIRealtime) -> None:
    env = _base_env() | {"OPENAI_API_KEY": fake_openai.api_key, "OPENAI_BASE_URL": fake_openai.base_url}
    fake_openai.queue_text(GREETING)
    fake_openai.queue_function_call("switch_persona", {"persona": "pirate"})
    fake_openai.queue_text(PIRATE_LINE)

    events = await _chat("openai", env, ["can I talk to the pirate?", "/context"])

    assert [(e["type"], e.get("role") or e.get("name") or e.get("persona")) for e in _conversation(events)] == [
        ("message", "assistant"),
        ("message", "user"),
        ("persona_changed", "pirate"),  # confirmed by the provider, before livekit reports the call
        ("function_call", "switch_persona"),
        ("function_call_output", "switch_persona"),
        ("message", "assistant"),
        ("context", None),
    ]
    assert _of(events, "message")[0]["text"] == GREETING
    assert _of(events, "function_call") == [
        {"type": "function_call", "name": "switch_persona", "arguments": {"persona": "pirate"}}
    ]
    (output,) = _of(events, "function_call_output")
    assert not output["is_error"] and output["output"].startswith("Switched: you are now Captain Reed.")
    assert RECONNECT not in output["output"]  # text output: applied in place
    assert _of(events, "message")[-1] == {"type": "message", "role": "assistant", "text": PIRATE_LINE}
    (context,) = _of(events, "context")
    assert {"role": "user", "text": "can I talk to the pirate?"} in context["items"]

    # on the wire: one connection, text only, the pirate's instructions and voice in place
    (conn,) = fake_openai.connections
    assert conn.events("session.update")[0]["session"]["output_modalities"] == ["text"]
    assert conn.instructions == expected_instructions("openai", "pirate")
    assert conn.voice == prompts.PromptLibrary().persona("pirate").voices["openai"]
    assert fake_openai.sent_events("error") == []


async def test_chat_on_gemini_switches_persona_with_one_reconnect(
    fake_gemini: FakeGeminiLive,
) -> None:
    assert fake_gemini.ca_file
    env = _base_env() | {
        "GOOGLE_API_KEY": fake_gemini.api_key,
        "GOOGLE_BASE_URL": fake_gemini.base_url,
        "SSL_CERT_FILE": fake_gemini.ca_file,  # the only way to make google-genai trust the fake
    }
    fake_gemini.queue_text(GREETING)
    fake_gemini.queue_function_call("switch_persona", {"persona": "pirate"})
    fake_gemini.queue_text(OLD_SESSION_REPLY)  # Gemini answers the tool response anyway
    fake_gemini.queue_text(PIRATE_LINE)

    events = await _chat("google", env, ["can I talk to the pirate?", "/context"])

    assert [(e["type"], e.get("role") or e.get("name") or e.get("persona")) for e in _conversation(events)] == [
        ("message", "assistant"),
        ("message", "user"),
        ("function_call", "switch_persona"),
        ("function_call_output", "switch_persona"),
        ("persona_changed", "pirate"),  # once the fresh session really took over
        ("message", "assistant"),
        ("context", None),
    ]
    assert _of(events, "function_call")[0]["arguments"] == {"persona": "pirate"}
    (output,) = _of(events, "function_call_output")
    assert not output["is_error"] and RECONNECT in output["output"]  # honest: it reconnects
    assert _of(events, "message")[-1]["text"] == PIRATE_LINE  # said by the new session
    assert OLD_SESSION_REPLY not in json.dumps(events)  # the old session was not heard
    (context,) = _of(events, "context")
    assert {"role": "user", "text": "can I talk to the pirate?"} in context["items"]

    # on the wire: exactly one reconnect, to a fresh pirate session carrying the turns
    assert len(fake_gemini.connections) == 2
    first, second = fake_gemini.connections
    assert first.system_instruction == expected_instructions("google", "assistant")
    assert second.system_instruction == expected_instructions("google", "pirate")
    assert second.voice == prompts.PromptLibrary().persona("pirate").voices["google"]
    assert second.resumption_handle is None
    assert ("user", "can I talk to the pirate?") in second.turns()


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


async def test_worker_starts_and_registers_with_a_livekit_endpoint() -> None:
    from websockets.asyncio.server import serve

    endpoint = FakeLiveKitAgentEndpoint()
    async with serve(endpoint.handler, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        env = _base_env() | {
            "LIVEKIT_URL": f"ws://127.0.0.1:{port}",
            "LIVEKIT_API_KEY": "devkey",
            "LIVEKIT_API_SECRET": "loopback-secret-loopback-secret-0",
        }
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "agent", "start", cwd=ROOT, env=env,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
            start_new_session=True,  # its job processes share its group: ended together below
        )  # fmt: skip
        try:
            register = await asyncio.wait_for(endpoint.messages.get(), PROCESS_TIMEOUT)
            status = await asyncio.wait_for(endpoint.messages.get(), PROCESS_TIMEOUT)
            proc.send_signal(signal.SIGTERM)
            await asyncio.wait_for(proc.wait(), 20)
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

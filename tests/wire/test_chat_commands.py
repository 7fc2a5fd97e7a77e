"""The chat (agent/chat.py, in process) on the real realtime plugins against the loopback
fakes: ``/persona NAME`` through the controller where the switch needs a fresh session
(Gemini), and a provider that ends the session (OpenAI's fatal ``insufficient_quota``)."""

from __future__ import annotations

import asyncio
import io
import os

from agent.chat import run_chat

from tests.helpers import chat_output, json_lines, of_type

from .support import expected_instructions
from .google.fake_gemini import FakeGeminiLive
from .google.fixtures import gemini_env
from .openai.fake_openai import FakeOpenAIRealtime
from .openai.fixtures import openai_env

HANG_LIMIT = 15.0  # only turns a hang into a failure
GREETING = "Hi, I'm Alex. How can I help?"
PIRATE_LINE = "Ahoy! Captain Reed here."


async def test_persona_command_on_gemini_hands_off_to_a_fresh_session(trust_fake_gemini: FakeGeminiLive) -> None:
    fake = trust_fake_gemini
    fake.queue_text(GREETING)
    fake.queue_text(PIRATE_LINE)  # what the fresh session says on entering
    events, err = await chat_output(["/persona pirate", "/context"], env=gemini_env(fake), timeout=HANG_LIMIT)

    assert of_type(events, "persona_changed") == [{"type": "persona_changed", "persona": "pirate"}]
    (outcome,) = of_type(events, "persona")
    assert (outcome["persona"], outcome["outcome"]) == ("pirate", "switched")
    assert any("reconnect" in note for note in outcome["notes"])  # honest: a fresh session
    assert {"type": "message", "role": "assistant", "text": PIRATE_LINE} in events
    (context,) = of_type(events, "context")
    assert context["items"][0] == {"role": "system", "text": expected_instructions("google", "pirate")}
    assert len(fake.connections) == 2
    assert fake.connections[1].system_instruction == expected_instructions("google", "pirate")
    assert err == f"provider google: at {fake.base_url.split('//')[1].rstrip('/')} (from GOOGLE_BASE_URL)\n"


async def test_a_provider_that_ends_the_session_ends_the_chat(fake_openai: FakeOpenAIRealtime) -> None:
    fake_openai.queue_text(GREETING)
    out = io.StringIO()
    read_end, write_end = os.pipe()
    stdin = open(read_end, encoding="utf-8")  # noqa: SIM115  (no end of input: the chat must not wait for it)
    try:
        chat = asyncio.ensure_future(
            run_chat(jsonl=True, stdin=stdin, stdout=out, stderr=io.StringIO(), env=openai_env(fake_openai))
        )
        conn = await fake_openai.wait_for_connections(1, timeout=HANG_LIMIT)
        while not of_type(json_lines(out.getvalue()), "message"):  # the greeting
            await asyncio.sleep(0.01)
        # a terminal error the service sends (the plugin's _FATAL_ERROR_CODES): no reconnect
        await conn.send_error("insufficient_quota", "You exceeded your current quota.", type="insufficient_quota")
        code = await asyncio.wait_for(chat, HANG_LIMIT)
    finally:
        os.close(write_end)
    assert code == 1
    (closed,) = of_type(json_lines(out.getvalue()), "session_closed")
    assert closed["reason"] == "error" and "returned an error" in closed["error"]
